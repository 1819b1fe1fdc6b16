// Command rbutton is the r-button agent: the native-messaging host the
// r-button browser extension talks to, and a command line to inspect and
// manage the same agreements.
//
// Browsers start it in host mode: Chromium-family browsers with the
// extension's origin (chrome-extension://<id>/) as the first argument,
// Firefox with the path of the host manifest and the add-on id. Anything
// else is the command line (see usage).
package main

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/rbutton/rbutton/host/agent"
	"github.com/rbutton/rbutton/host/framing"
	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/store"
)

func main() { os.Exit(run(os.Args[1:])) }

// isHostMode reports whether args are a browser's native-messaging launch.
func isHostMode(args []string) bool {
	if len(args) >= 1 && strings.HasPrefix(args[0], "chrome-extension://") {
		return true // later args (--parent-window=…, --reconnect-command=…) are ignored
	}
	return len(args) == 2 && strings.HasSuffix(strings.ToLower(args[0]), ".json") &&
		args[1] != "" && !strings.HasPrefix(args[1], "-")
}

func run(args []string) int {
	if isHostMode(args) {
		return hostMain(args)
	}
	return cli(args)
}

// openDB returns the database named by $RBUTTON_DB or the default path.
// $RBUTTON_DB_TIMEOUT (a Go duration) overrides the lock timeout.
func openDB() (*store.DB, error) {
	p, err := store.DefaultPath()
	if err != nil {
		return nil, err
	}
	db := store.New(p)
	if t, err := time.ParseDuration(os.Getenv("RBUTTON_DB_TIMEOUT")); err == nil && t > 0 {
		db.Timeout = t
	}
	return db, nil
}

func hostMain(args []string) int {
	frames, err := reserveStdout()
	if err != nil {
		errorf("cannot reserve stdout for frames: %v", err)
		return 1
	}
	return serveHost(args, frames)
}

// serveHost answers the browser's messages on stdin with frames written to
// frames, the descriptor reserveStdout took from stdout.
func serveHost(args []string, frames *os.File) int {
	log := openLog()
	log.Info().Str("caller", args[len(args)-1]).Msg("host started")
	db, err := openDB()
	if err != nil {
		// Still serve: every request will report the store error.
		log.Error().Err(err).Msg("locating database")
		db = store.New("")
	}
	a := &agent.Agent{DB: db, Client: &negotiate.Client{}, Log: log}
	if err := a.Serve(context.Background(), os.Stdin, framing.NewWriter(frames)); err != nil {
		log.Error().Err(err).Msg("host stopped")
		return 1
	}
	log.Info().Msg("host stopped: input closed")
	return 0
}
