package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestFormatting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ got, want string }{
		{fmtDur(0), "0"},
		{fmtDur(-3 * time.Millisecond), "−3.00 ms"},
		{fmtDur(1500 * time.Nanosecond), "1.50 µs"},
		{fmtDur(250 * time.Microsecond), "250 µs"},
		{fmtDur(999700 * time.Nanosecond), "1.00 ms"},
		{fmtDur(3200 * time.Microsecond), "3.20 ms"},
		{fmtDur(45 * time.Millisecond), "45.0 ms"},
		{fmtDur(2 * time.Second), "2.00 s"},
		{fmtRatio(1.234), "1.23×"},
		{fmtRatio(math.NaN()), "n/a"},
		{fmtRate(512), "512/s"},
		{fmtRate(4500), "4.5k/s"},
		{fmtRate(34000), "34k/s"},
		{fmtBytes(512), "512 B"},
		{fmtBytes(8 << 10), "8.0 KiB"},
		{fmtBytes(16 << 20), "16.0 MiB"},
		{thousands(100000), "100,000"},
		{thousands(999), "999"},
		{cell("a|b\nc"), `a\|b c`},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestReportMarksFailuresAndAims(t *testing.T) {
	t.Parallel()
	r := &report{command: "go run ./bench/cmd/rbutton-bench", runs: 3}
	r.add(row{section: 1, measure: "p99", value: "2 ms", baseline: "1 ms", ratio: "2.00×", aim: "< 1 ms", met: yesNo(false)})
	r.failed(2, errFake("no binary"))
	r.note(1, "because %s", "reasons")
	md := r.markdown([]int{1, 2})
	for _, want := range []string{"| 1 | p99 | 2 ms | 1 ms | 2.00× | < 1 ms | **no** |", "| 2 | host cold start | **failed**: no binary", "because reasons", "go version"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if !r.anyFailed() {
		t.Error("anyFailed = false")
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }

// The demo vendors run in-process behind the counter; a page view's
// advertisement is one counted request.
func TestVendorsCountRequests(t *testing.T) {
	t.Parallel()
	v, err := startVendors()
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	a, err := advertisement(v.origins["shop"] + "/")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a, "v=1, terms=:") {
		t.Errorf("advertisement %q", a)
	}
	if got := v.take("shop"); len(got) != 1 || got[0].Method != "GET" || got[0].Path != "/" {
		t.Errorf("counted %+v, want one GET /", got)
	}
	if got := v.take("shop"); len(got) != 0 {
		t.Errorf("take did not reset: %+v", got)
	}
	if _, err := advertisement(v.origins["plain"] + "/"); err == nil {
		t.Error("the plain site advertised DNT-D")
	}
}

func TestSyntheticSiteIsAgreed(t *testing.T) {
	t.Parallel()
	s, err := syntheticSite("http://127.0.0.1:8441")
	if err != nil {
		t.Fatal(err)
	}
	if s.rel.State != "agreed" || s.rel.Record == nil || s.jsonSize() < 1000 {
		t.Errorf("synthetic site: state %q, record %v, %d bytes", s.rel.State, s.rel.Record != nil, s.jsonSize())
	}
}

func TestParseInitTrace(t *testing.T) {
	t.Parallel()
	got := parseInitTrace("init runtime @0.010 ms, 0.020 ms clock, 0 bytes, 0 allocs\n" +
		"garbage line\ninit github.com/go-playground/validator/v10 @1.2 ms, 0.75 ms clock, 123456 bytes, 900 allocs\n" +
		"init bad @x ms, y ms clock, 1 bytes, 1 allocs\n")
	if len(got) != 2 || got[1].pkg != "github.com/go-playground/validator/v10" || got[1].clock != 0.75 {
		t.Errorf("parseInitTrace = %+v", got)
	}
}

func FuzzParseInitTrace(f *testing.F) {
	f.Add("init runtime @0.010 ms, 0.020 ms clock, 0 bytes, 0 allocs\n")
	f.Add("init a @ ms, ms clock,\n\ninit")
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range parseInitTrace(s) {
			if p.pkg == "" {
				t.Errorf("empty package name from %q", s)
			}
		}
	})
}
