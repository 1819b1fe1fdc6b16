package sidecar

import (
	"context"
	"fmt"

	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/boltstore"
	"github.com/rbutton/rbutton/site/pgstore"
)

// storeOpeners open each store kind: a Store, and what closes it.
var storeOpeners = map[string]func(StoreConfig) (site.Store, func() error, error){
	"memory": func(StoreConfig) (site.Store, func() error, error) {
		return site.NewMemoryStore(), func() error { return nil }, nil
	},
	"bolt": func(c StoreConfig) (site.Store, func() error, error) {
		s, err := boltstore.Open(c.Path)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	},
	"postgres": func(c StoreConfig) (site.Store, func() error, error) {
		ctx, cancel := context.WithTimeout(context.Background(), pgstore.Timeout)
		defer cancel()
		s, err := pgstore.Open(ctx, c.DSN)
		if err != nil {
			return nil, nil, err
		}
		return s, func() error { s.Close(); return nil }, nil
	},
}

// OpenStore opens the store the configuration names.
func OpenStore(c StoreConfig) (site.Store, func() error, error) {
	open, ok := storeOpeners[c.Kind]
	if !ok {
		return nil, nil, fieldErr("store.kind", "%q is not a store this build has", c.Kind)
	}
	s, closeStore, err := open(c)
	if err != nil {
		return nil, nil, &FieldError{"store", fmt.Errorf("cannot open the %s store: %w", c.Kind, err)}
	}
	return s, closeStore, nil
}
