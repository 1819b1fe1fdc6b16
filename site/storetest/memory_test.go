package storetest_test

import (
	"testing"

	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) site.Store { return site.NewMemoryStore() })
}
