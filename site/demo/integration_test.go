package demo_test

import (
	"context"
	"testing"

	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/policy"
)

// TestHostNegotiatorAgainstDemoVendors runs the host's negotiator with the
// default preset against every demo vendor, as the extension would.
func TestHostNegotiatorAgainstDemoVendors(t *testing.T) {
	sites, origins, logs := serve(t, t.TempDir())
	user, _ := policy.Preset(policy.DefaultPreset)
	c := &negotiate.Client{}
	ctx := context.Background()
	run := func(name string) *negotiate.Outcome {
		t.Helper()
		pub, priv, _ := policy.NewPairwiseKey()
		out, err := c.Negotiate(ctx, negotiate.Input{Origin: origins[name], User: user, Public: pub, Private: priv})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out
	}
	if out := run("shop"); out.Record == nil || out.Offer.ID != "basic" {
		t.Errorf("shop: %+v", out)
	}
	if out := run("news"); out.Record != nil || len(out.Conflicts) != 1 || out.Conflicts[0].Dimension != policy.DimPurposes {
		t.Errorf("news: %+v", out)
	}
	before := run("changing")
	if before.Record == nil || before.Record.Agreement.Terms.Retention != "P30D" {
		t.Fatalf("changing before: %+v", before)
	}
	if _, err := sites.Changing.Change(); err != nil {
		t.Fatal(err)
	}
	after := run("changing")
	if after.Record == nil || after.Record.Agreement.Terms.Retention != "P14D" || after.Digest == before.Digest {
		t.Errorf("changing after: %+v", after)
	}
	if _, _, err := c.FetchTerms(ctx, origins["plain"], ""); err == nil {
		t.Error("the plain site has terms")
	}
	t.Log("\n" + logs.String())
}
