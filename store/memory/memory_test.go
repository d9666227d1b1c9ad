package memory_test

import (
	"context"
	"testing"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/memory"
)

type harness struct{}

func (harness) MakeStore(context.Context, testing.TB) (store.Store, error) { return memory.New(), nil }

// ClaimCount lets the suite run ClaimsDoNotPile on the memory store too.
func (harness) ClaimCount(_ context.Context, _ testing.TB, s store.Store, substr string) (int, error) {
	return s.(*memory.Store).ClaimCount(substr), nil
}

func TestConformance(t *testing.T) { conformance.TestStore(t, harness{}) }

func TestNamedStoresAreShared(t *testing.T) {
	ctx := context.Background()
	a, ka, err := store.Open(ctx, "memory://shared-test")
	if err != nil {
		t.Fatal(err)
	}
	b, kb, err := store.Open(ctx, "memory://shared-test")
	if err != nil {
		t.Fatal(err)
	}
	c, _, _ := store.Open(ctx, "memory://other-test")
	if a != b || ka != kb {
		t.Error("two opens of memory://shared-test gave different stores or keyrings")
	}
	if a == c {
		t.Error("memory://other-test is the same store as memory://shared-test")
	}
}
