// Command rbutton-bench takes the measurements behind `make bench` and
// writes them, with the machine they were taken on, to BENCHMARKS.md.
//
// Each figure is measured next to a baseline in the same run, the two are
// interleaved, and the reported figure is the median over repeated runs,
// because the machines it runs on are shared and noisy:
//
//  1. host round trip: relationship.get over a pipe to bin/rbutton vs bench/echohost
//  2. host cold start: process start → first hello reply, vs echohost
//  3. store growth: host/store look-ups and writes at 1k, 10k, 100k relationships
//  4. negotiation against a demo vendor on loopback, with HTTP requests counted
//  5. browsing overhead: page loads in headless Chromium with and without the extension
//  6. memory: the host's peak RSS over 10,000 look-ups, vs echohost
//  7. vendor: accepted proposals/s and latency of the site library on bbolt
//     and PostgreSQL and of one and two rbutton-vendor processes; hostile
//     POST cost; bytes a refused stranger leaves
//  8. push: one changed detail to 1,000 relationships on loopback (`rbutton profile set`)
//
// Run it from the repository root after `make build`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

type config struct {
	root     string // repository root
	out      string // BENCHMARKS.md path, "" to skip
	quick    bool
	runs     int
	sections []int
	scratch  string // bench/out/<run>
	rbutton  string
	demo     string
	echo     string
	extID    string
	keep     bool
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rbutton-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var c config
	var only string
	flag.StringVar(&c.root, "root", ".", "repository root (holds bin/rbutton)")
	flag.StringVar(&c.out, "o", "BENCHMARKS.md", "report file, relative to -root (\"\" to only print)")
	flag.BoolVar(&c.quick, "quick", false, "few repetitions, for checking the harness (figures are not meaningful)")
	flag.IntVar(&c.runs, "runs", 5, "repeated runs per figure (medians are over these)")
	flag.StringVar(&only, "only", "1,2,3,4,5,6,7,8", "comma-separated sections to run")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch directory under bench/out")
	flag.Parse()
	for _, s := range strings.Split(only, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if _, ok := sectionTitle[n]; err != nil || !ok {
			return fmt.Errorf("-only: %q is not a section number (%s)", s, sectionNumbers())
		}
		c.sections = append(c.sections, n)
	}
	if c.quick && c.runs == 5 {
		c.runs = 2
	}
	if c.runs < 1 {
		return fmt.Errorf("-runs must be at least 1")
	}
	root, err := filepath.Abs(c.root)
	if err != nil {
		return err
	}
	c.root = root
	c.rbutton = filepath.Join(root, "bin", "rbutton")
	c.demo = filepath.Join(root, "bin", "rbutton-demo-sites")
	id, err := os.ReadFile(filepath.Join(root, "extension", "EXTENSION_ID"))
	if err != nil {
		return fmt.Errorf("reading the extension id: %w", err)
	}
	c.extID = strings.TrimSpace(string(id))

	if err := os.MkdirAll(filepath.Join(root, "bench", "out"), 0o755); err != nil {
		return err
	}
	c.scratch, err = os.MkdirTemp(filepath.Join(root, "bench", "out"), "run-")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(c.scratch)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	c.echo = filepath.Join(c.scratch, "echohost")
	build := exec.CommandContext(ctx, "go", "build", "-o", c.echo, "./bench/echohost")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building bench/echohost: %w", err)
	}

	rep := &report{started: time.Now(), quick: c.quick, runs: c.runs, command: commandLine()}
	type section struct {
		n   int
		run func(context.Context, *config, *report) error
	}
	// Negotiation first: it leaves a real agreed relationship that the
	// round-trip, cold-start and memory sections then look up.
	// Section 1's runs also give section 6's figures.
	order := []section{{4, negotiation}, {1, roundTrips}, {2, coldStart}, {3, storeGrowth}, {5, browsing}, {7, vendorSection}, {8, push}}
	for _, s := range order {
		if !slices.Contains(c.sections, s.n) && !(s.n == 1 && slices.Contains(c.sections, 6)) {
			continue
		}
		t0 := time.Now()
		fmt.Fprintf(os.Stderr, "rbutton-bench: section %d (%s)…\n", s.n, sectionTitle[s.n])
		if err := s.run(ctx, &c, rep); err != nil {
			rep.failed(s.n, err)
			fmt.Fprintf(os.Stderr, "rbutton-bench: section %d failed: %v\n", s.n, err)
		}
		fmt.Fprintf(os.Stderr, "rbutton-bench: section %d took %s\n", s.n, time.Since(t0).Round(time.Second/10))
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	rep.elapsed = time.Since(rep.started)
	table := rep.table(c.sections)
	fmt.Println(table)
	if c.out != "" {
		path := c.out
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		if err := os.WriteFile(path, []byte(rep.markdown(c.sections)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "rbutton-bench: wrote %s\n", path)
	}
	if rep.anyFailed() {
		return fmt.Errorf("some sections failed (see the report)")
	}
	return nil
}

// sectionNumbers lists the sections, like "1, 2, 3, 4, 5, 6, 8".
func sectionNumbers() string {
	var ns []int
	for n := range sectionTitle {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func commandLine() string {
	args := os.Args[1:]
	s := "go run ./bench/cmd/rbutton-bench"
	if len(args) > 0 {
		s += " " + strings.Join(args, " ")
	}
	return s
}
