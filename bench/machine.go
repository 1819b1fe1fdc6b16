package bench

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Machine describes where the figures were taken.
type Machine struct {
	NumCPU    int
	CPUModel  string
	Kernel    string
	GoVersion string
	Chromium  string
}

// DescribeMachine gathers nproc, CPU model, kernel release and the go
// toolchain version (of the `go` on PATH, falling back to this binary's).
func DescribeMachine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), CPUModel: "unknown", Kernel: runtime.GOOS, GoVersion: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = runtime.GOOS + " " + strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m.GoVersion = strings.TrimSpace(string(out))
	}
	return m
}
