package site_test

import (
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

func Example() {
	_, key, _ := ed25519.GenerateKey(nil) // in production: load your long-lived key
	vendor, err := site.New(site.Config{
		Origin:     "http://127.0.0.1:8080",
		Controller: policy.Controller{Name: "Example Shop Ltd", Contact: "privacy@shop.example"},
		PolicyURL:  "https://shop.example/privacy",
		Offers: []policy.Offer{{
			ID: "basic", Summary: "Measure how the shop is used, first-party only.",
			Terms: policy.Terms{Tracking: policy.TrackingFirstParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics},
				Sharing: policy.SharingProcessors, Retention: "P30D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional},
			Obligations: policy.Obligations{Access: policy.LevelOnRequest, Deletion: policy.LevelOnRequest, DataReturn: policy.LevelOnRequest},
		}},
		PrivateKey: key,
		Store:      site.NewMemoryStore(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	mux := http.NewServeMux()
	vendor.Mount(mux) // /.well-known/dnt-d and the protocol endpoints
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if site.Permits(r, policy.PurposeAnalytics) {
			vendor.Record(r, policy.DataItem{Type: "page-view", Data: map[string]string{"path": r.URL.Path}})
		}
		fmt.Fprintln(w, "<!doctype html><title>Shop</title><p>Welcome")
	})
	handler := vendor.Middleware(mux)

	// A visitor with DNT-D but no agreement yet.
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-DNT-D", "v=1")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	_, _, digest := vendor.Terms()
	fmt.Println(rec.Header().Get("DNT-D") == "v=1, terms=:"+digest+":")
	fmt.Println(rec.Header().Get("Tk"))
	fmt.Println(rec.Header().Get("Vary"))
	// Output:
	// true
	// N
	// DNT, Sec-GPC, Sec-DNT-D
}
