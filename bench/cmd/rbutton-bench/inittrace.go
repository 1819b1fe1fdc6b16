package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rbutton/rbutton/bench"
)

// pkgInit is one line of GODEBUG=inittrace=1 output.
type pkgInit struct {
	pkg   string
	clock float64 // ms
}

// parseInitTrace reads lines like
// "init github.com/x/y @0.51 ms, 0.12 ms clock, 3440 bytes, 40 allocs".
func parseInitTrace(stderr string) []pkgInit {
	var out []pkgInit
	for _, line := range strings.Split(stderr, "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		ms, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			continue
		}
		out = append(out, pkgInit{pkg: f[1], clock: ms})
	}
	return out
}

// initCost starts a binary with GODEBUG=inittrace=1 a few times and returns
// the median total package-init time and the costliest packages.
func initCost(path string, args, env []string) (total float64, top []pkgInit, err error) {
	var totals []float64
	byPkg := map[string][]float64{}
	for range 7 {
		h, err := bench.Start(filepath.Base(path), path, args, append(env, "GODEBUG=inittrace=1"))
		if err != nil {
			return 0, nil, err
		}
		_, _, _, cerr := h.Call("hello", struct{}{})
		if err := h.Close(); cerr == nil {
			cerr = err
		}
		if cerr != nil {
			return 0, nil, cerr
		}
		sum := 0.0
		for _, p := range parseInitTrace(h.Stderr()) {
			sum += p.clock
			byPkg[p.pkg] = append(byPkg[p.pkg], p.clock)
		}
		totals = append(totals, sum)
	}
	for pkg, xs := range byPkg {
		top = append(top, pkgInit{pkg, bench.Median(xs)})
	}
	slices.SortFunc(top, func(a, b pkgInit) int {
		if a.clock != b.clock {
			if a.clock > b.clock {
				return -1
			}
			return 1
		}
		return strings.Compare(a.pkg, b.pkg)
	})
	return bench.Median(totals), top[:min(len(top), 6)], nil
}

func fmtInits(ps []pkgInit) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprintf("`%s` %.2f ms", p.pkg, p.clock))
	}
	return strings.Join(s, ", ")
}
