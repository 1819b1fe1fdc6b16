// Package pgtest gives tests a fresh database on the throwaway PostgreSQL
// server that scripts/postgres.sh starts for `make test`.
//
// The server's DSN is in RBUTTON_TEST_PG. Without it a test is skipped with
// a message, unless RBUTTON_REQUIRE_PG=1 (the Makefile sets it) says the
// server must be there: then it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN and EnvRequire name the environment variables pgtest reads.
const (
	EnvDSN     = "RBUTTON_TEST_PG"
	EnvRequire = "RBUTTON_REQUIRE_PG"
)

// ServerDSN returns the test server's DSN, skipping or failing t without one.
func ServerDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s is not set: run the tests through scripts/postgres.sh run (make test does)", EnvDSN)
		}
		t.Skipf("no PostgreSQL: %s is not set (scripts/postgres.sh run go test ... provides one)", EnvDSN)
	}
	return dsn
}

var serial sync.Mutex // CREATE DATABASE copies template1 and takes a lock on it

// DSN creates an empty database on the test server and returns its DSN;
// the database is dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	server := ServerDSN(t)
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	admin := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	serial.Lock()
	err := admin("CREATE DATABASE " + name)
	serial.Unlock()
	if err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return WithDatabase(server, name)
}

// WithDatabase returns dsn naming database name instead of its own.
func WithDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	return dsn + " dbname=" + name
}
