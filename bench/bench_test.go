package bench

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/framing"
)

func ms(xs ...int) []time.Duration {
	out := make([]time.Duration, len(xs))
	for i, x := range xs {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(100-i) * time.Millisecond // reversed: Percentile must sort
	}
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		q       float64
		want    time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median odd", ms(3, 1, 2), 0.5, 2 * time.Millisecond},
		{"median even is lower middle", ms(4, 1, 3, 2), 0.5, 2 * time.Millisecond},
		{"p99 of 100", hundred, 0.99, 99 * time.Millisecond},
		{"p100", hundred, 1, 100 * time.Millisecond},
		{"q below 0 clamps", ms(5, 6), -1, 5 * time.Millisecond},
		{"q above 1 clamps", ms(5, 6), 2, 6 * time.Millisecond},
	} {
		if got := Percentile(tc.samples, tc.q); got != tc.want {
			t.Errorf("%s: Percentile(q=%v) = %v, want %v", tc.name, tc.q, got, tc.want)
		}
	}
	if hundred[0] != 100*time.Millisecond {
		t.Errorf("Percentile modified its input")
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(tc.xs); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v, want NaN", got)
	}
	if got := Ratio(1, 0); !math.IsNaN(got) {
		t.Errorf("Ratio(1, 0) = %v, want NaN", got)
	}
	if got := MedianDuration(ms(1, 3)); got != 2*time.Millisecond {
		t.Errorf("MedianDuration = %v, want 2ms", got)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	s := Summarize(ms(1, 2, 3, 4))
	if s.N != 4 || s.P50 != 2*time.Millisecond || s.P99 != 4*time.Millisecond || s.Mean != 2500*time.Microsecond || s.Total != 10*time.Millisecond {
		t.Errorf("Summarize = %+v", s)
	}
	if got := s.PerSecond(); got != 400 {
		t.Errorf("PerSecond = %v, want 400", got)
	}
	if (Summary{}).PerSecond() != 0 || Summarize(nil).N != 0 {
		t.Errorf("empty summary not zero")
	}
}

// buildEcho builds bench/echohost once per test binary.
func buildEcho(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "echohost")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", bin, "./echohost").CombinedOutput()
	if err != nil {
		t.Fatalf("building echohost: %v\n%s", err, out)
	}
	return bin
}

func TestEchoHostOverRealPipes(t *testing.T) {
	t.Parallel()
	h, err := Start("echohost", buildEcho(t), []string{"chrome-extension://abc/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, d, size, err := h.Call("hello", nil)
	if err != nil {
		t.Fatal(err)
	}
	var hello struct {
		Version  string `json:"version"`
		Protocol int    `json:"protocol"`
	}
	if err := json.Unmarshal(r.Result, &hello); err != nil || hello.Protocol != 1 || hello.Version == "" {
		t.Errorf("hello result %s (%v)", r.Result, err)
	}
	if d <= 0 || size <= 0 {
		t.Errorf("hello took %v, %d bytes", d, size)
	}
	params := map[string]string{"site": "http://127.0.0.1:8441"}
	r, _, _, err = h.Call("relationship.get", params)
	if err != nil {
		t.Fatal(err)
	}
	var echoed map[string]string
	if err := json.Unmarshal(r.Result, &echoed); err != nil || echoed["site"] != params["site"] {
		t.Errorf("echoed %s, want the params back", r.Result)
	}
	if runtime.GOOS == "linux" {
		rss, err := PeakRSS(h.Pid())
		if err != nil || rss < 1<<20 {
			t.Errorf("PeakRSS = %d, %v; want at least 1 MiB", rss, err)
		}
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestPeakRSSOfMissingProcess(t *testing.T) {
	t.Parallel()
	if _, err := PeakRSS(-1); err == nil {
		t.Error("PeakRSS(-1) succeeded")
	}
}

// fakeHost answers each request with reply(request id) over pipes.
func fakeHost(t *testing.T, reply func(id string) []byte) *Host {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	go func() {
		w := framing.NewWriter(outW)
		for {
			body, err := framing.ReadFrame(inR)
			if err != nil {
				outW.Close()
				return
			}
			var req struct{ ID string }
			json.Unmarshal(body, &req)
			if w.WriteFrame(reply(req.ID)) != nil {
				return
			}
		}
	}()
	h := Attach("fake", outR, inW)
	t.Cleanup(func() { h.Close() })
	return h
}

func TestCallRejectsBadReplies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		reply func(id string) []byte
		check func(error) bool
	}{
		{"wrong id", func(string) []byte { return []byte(`{"id":"other","ok":true,"result":null}`) }, func(err error) bool { return err != nil }},
		{"not json", func(string) []byte { return []byte(`not json`) }, func(err error) bool { return err != nil }},
		{"error reply", func(id string) []byte {
			return []byte(`{"id":"` + id + `","ok":false,"error":{"code":"not_found","message":"no such site"}}`)
		}, func(err error) bool {
			var re *ReplyError
			return errors.As(err, &re) && re.Code == "not_found"
		}},
	} {
		h := fakeHost(t, tc.reply)
		if _, _, _, err := h.Call("relationship.get", map[string]string{"site": "x"}); !tc.check(err) {
			t.Errorf("%s: Call error = %v", tc.name, err)
		}
	}
}

func TestStartMissingBinary(t *testing.T) {
	t.Parallel()
	if _, err := Start("nothing", filepath.Join(t.TempDir(), "nothing"), nil, nil); err == nil {
		t.Error("Start of a missing binary succeeded")
	}
}

func TestDescribeMachine(t *testing.T) {
	t.Parallel()
	m := DescribeMachine()
	if m.NumCPU < 1 || m.GoVersion == "" || m.Kernel == "" {
		t.Errorf("DescribeMachine = %+v", m)
	}
	if _, err := os.Stat("/proc/cpuinfo"); err == nil && m.CPUModel == "unknown" {
		t.Logf("no model name in /proc/cpuinfo")
	}
}
