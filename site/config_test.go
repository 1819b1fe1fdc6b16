package site_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	_, key, _ := ed25519.GenerateKey(nil)
	good := func() site.Config {
		return site.Config{
			Origin: "https://shop.example", Controller: policy.Controller{Name: "Shop", Contact: "privacy@shop.example"},
			PolicyURL: "https://shop.example/privacy", Offers: []policy.Offer{basicOffer}, PrivateKey: key,
		}
	}
	if _, err := site.New(good()); err != nil {
		t.Fatalf("good config: %v", err)
	}
	offer := func(f func(*policy.Offer)) func(*site.Config) {
		return func(c *site.Config) {
			o := basicOffer
			o.Terms.Purposes = append([]policy.Purpose(nil), o.Terms.Purposes...)
			f(&o)
			c.Offers = []policy.Offer{o}
		}
	}
	tests := []struct {
		name   string
		change func(*site.Config)
		field  string // ConfigError.Field
	}{
		{"no origin", func(c *site.Config) { c.Origin = "" }, "Origin"},
		{"origin with path", func(c *site.Config) { c.Origin = "https://shop.example/x" }, "Origin"},
		{"plain http on a public host", func(c *site.Config) { c.Origin = "http://shop.example" }, "Origin"},
		{"origin not canonical", func(c *site.Config) { c.Origin = "https://SHOP.example" }, "Origin"},
		{"no key", func(c *site.Config) { c.PrivateKey = nil }, "PrivateKey"},
		{"short key", func(c *site.Config) { c.PrivateKey = key[:32] }, "PrivateKey"},
		{"no offers", func(c *site.Config) { c.Offers = nil }, "offers"},
		{"no controller name", func(c *site.Config) { c.Controller.Name = "" }, "controller.name"},
		{"policy not a URL", func(c *site.Config) { c.PolicyURL = "privacy page" }, "policy"},
		{"bad offer id", offer(func(o *policy.Offer) { o.ID = "Basic Offer" }), "offers[0].id"},
		{"bad retention", offer(func(o *policy.Offer) { o.Terms.Retention = "30 days" }), "offers[0].terms.retention"},
		{"unknown tracking", offer(func(o *policy.Offer) { o.Terms.Tracking = "everywhere" }), "offers[0].terms.tracking"},
		{"unknown purpose", offer(func(o *policy.Offer) { o.Terms.Purposes = append(o.Terms.Purposes, "mining") }), "offers[0].terms.purposes[2]"},
		{"missing obligation", offer(func(o *policy.Offer) { o.Obligations.Deletion = "" }), "offers[0].obligations.deletion"},
		{"duplicate offer ids", func(c *site.Config) { c.Offers = []policy.Offer{basicOffer, basicOffer} }, "offers[1].id"},
		{"endpoint not a path", func(c *site.Config) { c.Endpoints.Agreement = "https://elsewhere.example/agree" }, "endpoints.agreement"},
		{"endpoints collide", func(c *site.Config) {
			c.Endpoints.End = c.Endpoints.Agreement
			c.Endpoints.Agreement = "/dntd"
			c.Endpoints.End = "/dntd"
		}, "Endpoints.End"},
		{"endpoint on the well-known path", func(c *site.Config) { c.Endpoints.DataReturn = policy.WellKnownPath }, "Endpoints.DataReturn"},
		{"a processor by path", func(c *site.Config) { c.Processors = []string{"https://pay.example/checkout"} }, "processors[0]"},
		{"a processor twice", func(c *site.Config) { c.Processors = []string{"https://pay.example", "https://pay.example"} }, "processors"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.change(&cfg)
			v, err := site.New(cfg)
			if err == nil {
				t.Fatalf("New accepted the config")
			}
			if v != nil {
				t.Error("New returned a vendor with an error")
			}
			var ce *site.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *ConfigError", err, err)
			}
			if ce.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", ce.Field, tc.field, err)
			}
			if !strings.HasPrefix(err.Error(), "site: invalid configuration: "+tc.field) {
				t.Errorf("message %q", err)
			}
		})
	}
}
