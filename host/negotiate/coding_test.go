package negotiate

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/policy"
)

// TestTermsDigestAfterContentCoding: the terms digest covers the document's
// bytes after the content coding is removed, and the 64 KiB limit applies to
// those decoded bytes (PROTOCOL.md 5.1), so a gzip-compressed document
// verifies against the digest of what the site serves uncompressed, and a
// small compressed body that decodes past the limit is refused.
func TestTermsDigestAfterContentCoding(t *testing.T) {
	t.Parallel()
	terms, err := os.ReadFile(filepath.Join("..", "..", "testdata", "protocol", "terms.json"))
	if err != nil {
		t.Fatal(err)
	}
	bomb := append(append([]byte("{"), bytes.Repeat([]byte(" "), policy.MaxTermsDocument+1)...), '}')
	var (
		mu      sync.Mutex
		serve   = terms
		sawGzip bool
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		sawGzip = strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(serve)
		zw.Close()
		w.Header().Set("Content-Type", policy.MediaType)
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(buf.Bytes())
	}))
	defer srv.Close()
	c := &Client{Timeout: 2 * time.Second}
	doc, digest, err := c.FetchTerms(context.Background(), srv.URL, policy.Digest(terms))
	if err != nil || digest != policy.Digest(terms) || doc.Controller.Name != "Example Shop Ltd" {
		t.Fatalf("gzip-coded terms: %v, digest %s", err, digest)
	}
	mu.Lock()
	if !sawGzip {
		t.Error("the agent did not offer gzip, so a site may not use it")
	}
	serve = bomb
	mu.Unlock()
	if _, _, err := c.FetchTerms(context.Background(), srv.URL, ""); code(err) != proto.CodeSiteTooLarge {
		t.Errorf("%d bytes decoded from a small gzip body: %v, want site_too_large", len(bomb), err)
	}
}
