package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run this binary's main as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("RBUTTON_DEMO_SITES_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freePorts(t *testing.T, n int) []string {
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

func command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RBUTTON_DEMO_SITES_MAIN=1")
	return cmd
}

func TestServesAndLogs(t *testing.T) {
	p := freePorts(t, 5)
	cmd := command("--shop-port", p[0], "--news-port", p[1], "--changing-port", p[2], "--plain-port", p[3], "--echo-port", p[4], "--db", t.TempDir())
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	var seen []string
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if strings.Contains(lines.Text(), "demo sites ready") {
			break
		}
	}
	out := strings.Join(seen, "\n")
	if !strings.Contains(out, "shop     http://127.0.0.1:"+p[0]) || !strings.Contains(out, "echo     http://127.0.0.1:"+p[4]) {
		t.Fatalf("startup output:\n%s", out)
	}
	resp, err := http.Post("http://127.0.0.1:"+p[0]+"/.well-known/dnt-d/agreement", "application/dnt-d+json", strings.NewReader("{"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !lines.Scan() || !strings.Contains(lines.Text(), "shop") || !strings.Contains(lines.Text(), "rejected") {
		t.Errorf("exchange not logged: %q", lines.Text())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	go io.Copy(io.Discard, stderr)
	done := make(chan error)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not exit after SIGTERM")
	}
}

func TestErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	p := freePorts(t, 4)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"port in use", []string{"--shop-port", busy, "--news-port", p[0], "--changing-port", p[1], "--plain-port", p[2], "--echo-port", p[3], "--quiet"}, "rbutton: shop: listen tcp"},
		{"stray argument", []string{"serve"}, `rbutton: unexpected argument "serve"`},
		{"db is a file", []string{"--db", os.Args[0]}, "rbutton: cannot create"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			cmd := command(tc.args...)
			cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("exited 0:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output %q lacks %q", out, tc.want)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left %d temporary files behind", len(left))
			}
		})
	}
}
