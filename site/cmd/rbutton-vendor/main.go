// Command rbutton-vendor puts DNT-D in front of any web site: a reverse
// proxy that serves the site's terms and the protocol endpoints itself,
// adds the DNT-D, Tk and Vary headers to the application's pages and tells
// the application, in one request header, what each visitor agreed to.
// site/README.md describes the configuration file and the hooks.
//
// Usage:
//
//	rbutton-vendor [-check] [-quiet] CONFIG.toml
//	rbutton-vendor -genkey FILE
//
// -check validates the configuration (the terms exactly as an agent will)
// and exits; -genkey writes a new Ed25519 key file for keyFile. Errors go
// to stderr as "rbutton-vendor: <key>: <what is wrong>", exit status 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rbutton/rbutton/site/sidecar"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("rbutton-vendor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "validate the configuration and exit")
	quiet := fs.Bool("quiet", false, "do not log protocol exchanges")
	genkey := fs.String("genkey", "", "write a new Ed25519 private key to `FILE` and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rbutton-vendor [-check] [-quiet] CONFIG.toml\n       rbutton-vendor -genkey FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "rbutton-vendor: %v\n", err)
		return 1
	}
	if *genkey != "" {
		if fs.NArg() > 0 {
			fs.Usage()
			return 2
		}
		pub, err := sidecar.WriteNewKey(*genkey)
		if err != nil {
			return fail(fmt.Errorf("cannot write the key: %w", err))
		}
		fmt.Fprintf(stderr, "rbutton-vendor: wrote a new key to %s (public key %s)\n", *genkey, pub)
		return 0
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	cfg, err := sidecar.Load(fs.Arg(0))
	if err != nil {
		return fail(err)
	}
	// The terms are checked before the store is opened, so a bad file
	// creates nothing.
	if err := sidecar.Check(cfg); err != nil {
		return fail(err)
	}
	if *check {
		fmt.Fprintf(stderr, "rbutton-vendor: %s is valid\n", fs.Arg(0))
		return 0
	}
	if err := serve(cfg, *quiet, stderr); err != nil {
		return fail(err)
	}
	return 0
}

// serve runs the sidecar until SIGINT or SIGTERM.
func serve(cfg *sidecar.Config, quiet bool, stderr io.Writer) error {
	var logMu sync.Mutex
	logf := func(line string) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), line)
	}
	var exchangeLog func(string)
	if !quiet {
		exchangeLog = logf
	}
	store, closeStore, err := sidecar.OpenStore(cfg.Store)
	if err != nil {
		return err
	}
	defer closeStore()
	sc, err := sidecar.New(cfg, store, exchangeLog)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: sc.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	_, _, digest := sc.Vendor.Terms()
	fmt.Fprintf(stderr, "rbutton-vendor: serving %s on %s in front of %s (store %s, terms %s)\n",
		cfg.Origin, ln.Addr(), cfg.Upstream, cfg.Store.Kind, digest)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	fmt.Fprintln(stderr, "rbutton-vendor: stopped")
	return nil
}
