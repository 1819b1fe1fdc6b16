package bench

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"time"

	"github.com/rbutton/rbutton/policy"
)

// Body is a named POST body for PostCosts.
type Body struct {
	Name string
	Body []byte
}

// HostileBodies are the bodies a stranger can POST to a DNT-D site before
// any authentication, built around valid (a compact, correctly signed
// proposal): the same proposal with a bad signature (the baseline), and
// bodies that fill the size limits in the ways that cost a naive JSON
// parser most. The 64 KiB ones fill policy.MaxMessage, the protocol's limit;
// the others fill policy.MaxRequest, the most a site reads of a request.
func HostileBodies(valid []byte) []Body {
	fill := func(size int, prefix, elem, suffix string) []byte {
		var b strings.Builder
		b.WriteString(prefix)
		for b.Len()+len(elem)+len(suffix)+1 <= size {
			if b.Len() > len(prefix) {
				b.WriteByte(',')
			}
			b.WriteString(elem)
		}
		b.WriteString(suffix)
		return []byte(b.String())
	}
	const sig = `"userSignature":"`
	badSig := bytes.Clone(valid)
	if i := bytes.Index(badSig, []byte(sig)); i >= 0 {
		// One base64 digit changed to another digit: well-formed, does not
		// verify. (Flipping bits could leave the alphabet, e.g. 'x' -> '{'.)
		j := i + len(sig)
		if badSig[j] == 'A' {
			badSig[j] = 'B'
		} else {
			badSig[j] = 'A'
		}
	}
	out := []Body{{"well-formed proposal, bad signature", badSig}}
	for _, size := range []int{policy.MaxMessage, policy.MaxRequest} {
		kib := fmt.Sprintf(" (%d KiB)", size>>10)
		out = append(out,
			Body{"array of numbers" + kib, fill(size, "[", "0", "]")},
			Body{"array of empty objects" + kib, fill(size, "[", "{}", "]")},
			Body{"unknown member holding an array" + kib, fill(size, `{"x":[`, "0", "]}")},
			Body{"one long string" + kib, fill(size, `{"v":"`, "a", `"}`)})
		purposes := []byte(`"purposes":["service","analytics"]`)
		if at := bytes.Index(valid, purposes); at >= 0 {
			out = append(out, Body{"proposal whose purposes fill the body" + kib,
				fill(size, string(valid[:at])+`"purposes":[`, `"service"`, `]`+string(valid[at+len(purposes):]))})
		}
	}
	return out
}

// PostCost is what one POST cost the handler: time on one goroutine (the
// CPU it used, on an otherwise idle core) and heap allocations.
type PostCost struct {
	Name      string
	PerPost   time.Duration
	AllocsPer float64
	BytesPer  float64
	Status    int // the handler's answer
}

// PostCosts POSTs every body to h at path, rounds times each in turn
// (interleaved, so a noisy neighbour hits all alike), n posts per round,
// and reports each body's median per-post time. h should not rate-limit.
func PostCosts(h http.Handler, path string, bodies []Body, rounds, n int) []PostCost {
	times := make([][]time.Duration, len(bodies))
	out := make([]PostCost, len(bodies))
	for range rounds {
		for i, b := range bodies {
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			t0 := time.Now()
			for range n {
				out[i].Status = Post(h, path, b.Body)
			}
			times[i] = append(times[i], time.Since(t0)/time.Duration(n))
			runtime.ReadMemStats(&m1)
			out[i].AllocsPer = float64(m1.Mallocs-m0.Mallocs) / float64(n)
			out[i].BytesPer = float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n)
		}
	}
	for i, b := range bodies {
		out[i].Name = b.Name
		out[i].PerPost = MedianDuration(times[i])
	}
	return out
}

// Post serves one DNT-D POST of body to path through h, in memory, and
// returns the status.
func Post(h http.Handler, path string, body []byte) int {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Content-Type", policy.MediaType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}
