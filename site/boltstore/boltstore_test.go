package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/boltstore"
	"github.com/rbutton/rbutton/site/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) site.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "vendor.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestOpenErrors(t *testing.T) {
	if _, err := boltstore.Open(filepath.Join(t.TempDir(), "missing-dir", "x.db")); err == nil {
		t.Error("opened a store in a missing directory")
	}
}
