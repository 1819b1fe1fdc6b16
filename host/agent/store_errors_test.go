package agent

import (
	"os"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/rbutton/rbutton/host/proto"
)

func TestStoreErrorsReachTheReply(t *testing.T) {
	t.Parallel()
	a := newAgent(t)
	a.DB.Timeout = 100 * time.Millisecond
	mustCall[[]Summary](t, a, proto.TypeRelationshipList, struct{}{})
	held, err := bolt.Open(a.DB.Path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, perr := call(t, a, proto.TypeRelationshipList, struct{}{})
	held.Close()
	if perr == nil || perr.Code != proto.CodeBusy {
		t.Fatalf("locked database: %v, want busy", perr)
	}
	if err := os.WriteFile(a.DB.Path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, perr := call(t, a, proto.TypeTermsGet, struct{}{}); perr == nil || perr.Code != proto.CodeStoreCorrupt {
		t.Fatalf("corrupt database: %v, want store_corrupt", perr)
	}
}
