// Command rbutton-demo-sites serves the DNT-D demo vendors on loopback, each
// on its own origin: a shop the default terms accept, a news site they
// conflict with, a site whose terms change, a plain site without DNT-D and
// a header echo. Every protocol exchange is logged to stderr.
//
// Usage:
//
//	rbutton-demo-sites [--addr 127.0.0.1] [--shop-port 8441] [--news-port 8442]
//	    [--changing-port 8443] [--plain-port 8444] [--echo-port 8445]
//	    [--db DIR] [--change-every 30s] [--quiet]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rbutton/rbutton/site/demo"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("rbutton: ")
	var o demo.Options
	flag.StringVar(&o.Addr, "addr", "127.0.0.1", "host to listen on")
	flag.IntVar(&o.ShopPort, "shop-port", 8441, "port of the Demo Shop")
	flag.IntVar(&o.NewsPort, "news-port", 8442, "port of Daily Demo News")
	flag.IntVar(&o.ChangingPort, "changing-port", 8443, "port of Changing Terms Co")
	flag.IntVar(&o.PlainPort, "plain-port", 8444, "port of the plain site (no DNT-D)")
	flag.IntVar(&o.EchoPort, "echo-port", 8445, "port of the header echo")
	flag.StringVar(&o.DBDir, "db", "", "directory for the vendors' bbolt files (default: a new temporary directory)")
	changeEvery := flag.Duration("change-every", 0, "change the changing site's terms this often (0: only on POST /admin/change-terms)")
	quiet := flag.Bool("quiet", false, "do not log protocol exchanges")
	flag.Parse()
	if flag.NArg() > 0 {
		log.Fatalf("unexpected argument %q", flag.Arg(0))
	}
	if err := run(o, *changeEvery, *quiet); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

// run serves the demo sites until SIGINT or SIGTERM. Errors come back here
// rather than exiting, so the temporary directory is always removed.
func run(o demo.Options, changeEvery time.Duration, quiet bool) error {
	if o.DBDir == "" {
		dir, err := os.MkdirTemp("", "rbutton-demo-sites-")
		if err != nil {
			return fmt.Errorf("cannot create a temporary directory: %w", err)
		}
		defer os.RemoveAll(dir)
		o.DBDir = dir
	} else if err := os.MkdirAll(o.DBDir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", o.DBDir, err)
	}
	var logMu sync.Mutex
	if !quiet {
		o.Log = func(site, line string) {
			logMu.Lock()
			defer logMu.Unlock()
			fmt.Fprintf(os.Stderr, "%s %-8s %s\n", time.Now().Format("15:04:05"), site, line)
		}
	}
	sites, err := demo.Build(o)
	if err != nil {
		return err
	}
	defer sites.Close()

	var servers []*http.Server
	errc := make(chan error, len(sites.List))
	for _, s := range sites.List {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			for _, srv := range servers {
				srv.Close()
			}
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		srv := &http.Server{Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", s.Name, err)
			}
		}()
		fmt.Fprintf(os.Stderr, "rbutton: %-8s %s\n", s.Name, s.Origin)
	}
	stop := make(chan struct{})
	if changeEvery > 0 {
		go sites.Changing.Every(changeEvery, stop)
	}
	fmt.Fprintf(os.Stderr, "rbutton: demo sites ready (data in %s)\n", o.DBDir)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	var failed error
	select {
	case <-sig:
	case failed = <-errc:
	}
	close(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(ctx)
	}
	return failed
}
