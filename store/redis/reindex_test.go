package redis_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/redis"
)

// beforeFirstEvalsha is a go-redis hook that runs fn once, just before the
// first EVALSHA is sent, alone or in a pipeline: in Reindex, the moment it
// has read a batch of hashes and is about to enter them in the due index;
// in Due, the moment it has read the hashes of a page and is about to take
// out the entry of one that is gone. fn runs on the caller's goroutine, and
// must use another client.
type beforeFirstEvalsha struct {
	fn   func()
	done atomic.Bool
}

func (h *beforeFirstEvalsha) maybeRun(cmds ...goredis.Cmder) {
	for _, c := range cmds {
		if strings.EqualFold(c.Name(), "evalsha") && h.done.CompareAndSwap(false, true) {
			h.fn()
			return
		}
	}
}

func (h *beforeFirstEvalsha) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *beforeFirstEvalsha) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.maybeRun(cmd)
		return next(ctx, cmd)
	}
}

func (h *beforeFirstEvalsha) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.maybeRun(cmds...)
		return next(ctx, cmds)
	}
}

// hookedStore returns a Store under prefix on a client of its own that
// runs fn just before its first EVALSHA.
func hookedStore(t *testing.T, prefix string, fn func()) (*redis.Store, *beforeFirstEvalsha) {
	t.Helper()
	server(t)
	opts, err := goredis.ParseURL(baseURL())
	if err != nil {
		t.Fatal(err)
	}
	hook := &beforeFirstEvalsha{fn: fn}
	client := goredis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	client.AddHook(hook)
	return redis.New(client, prefix), hook
}

// dueIndex returns the entries of the due index under prefix: id to score.
func dueIndex(t *testing.T, prefix string) map[string]float64 {
	t.Helper()
	zs, err := server(t).ZRangeWithScores(context.Background(), prefix+"due", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]float64{}
	for _, z := range zs {
		m[z.Member.(string)] = z.Score
	}
	return m
}

// TestReindexRacingDeleteAndRecreate shows that Reindex does not undo the
// Put of a connection deleted and created again while it runs. Reindex
// reads the hash at version 1, a connection that needs authorizing again
// (no index entry); before it enters what it read, another instance
// deletes the connection and creates it anew, Active with an expiry: at
// version 1 again, entered in the due index by its Put. The entry must
// stay, with the new expiry: a check of the version alone would pass (1 is
// 1) and take it out, and the scheduler would never refresh the connection.
func TestReindexRacingDeleteAndRecreate(t *testing.T) {
	prefix := freshPrefix(t)
	ctx := context.Background()
	other := redis.New(server(t), prefix) // another instance
	id := "ns/app/shopline:merchant-1"
	expiry := time.Now().Add(30 * time.Minute).UTC().Truncate(time.Microsecond)
	s, hook := hookedStore(t, prefix, func() {
		// The user authorizes the connection again, on the other instance.
		if err := other.Delete(ctx, id); err != nil {
			t.Errorf("Delete: %v", err)
			return
		}
		if _, err := other.Put(ctx, &store.Record{ID: id, Provider: "shopline", Status: store.Active, Expiry: expiry, Secret: []byte("s2")}, 0); err != nil {
			t.Errorf("Put (created again): %v", err)
		}
	})
	if _, err := other.Put(ctx, &store.Record{ID: id, Provider: "shopline", Status: store.NeedsReauth, Reason: "invalid_grant", Secret: []byte("s1")}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	if !hook.done.Load() {
		t.Fatal("the hook did not run: Reindex sent no EVALSHA")
	}
	got, err := s.Get(ctx, id)
	if err != nil || got.Version != 1 || got.Status != store.Active || !got.Expiry.Equal(expiry) {
		t.Fatalf("Get = %+v, %v; want the record created again: Active, version 1", got, err)
	}
	if d := cmp.Diff(map[string]float64{id: float64(expiry.UnixMicro())}, dueIndex(t, prefix)); d != "" {
		t.Errorf("the due index after Reindex raced a Delete and a Put (-want +got):\n%s", d)
	}
	due, err := s.Due(ctx, expiry.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].ID != id {
		t.Errorf("Due = %d records, want the connection created again, %q", len(due), id)
	}
}

// TestReindexRacingDeleteAndRecreateLaterExpiry is the same race with the
// connection Active both times: the deleted record's token expired in 90
// days, the new one's in 30 minutes. Reindex must not write back the score
// it computed from the deleted record, which would keep the new one out of
// the scheduler's window until long after its token expired.
func TestReindexRacingDeleteAndRecreateLaterExpiry(t *testing.T) {
	prefix := freshPrefix(t)
	ctx := context.Background()
	other := redis.New(server(t), prefix)
	id := "ns/app/jumpseller:store-9"
	now := time.Now().UTC().Truncate(time.Microsecond)
	oldExpiry, newExpiry := now.Add(90*24*time.Hour), now.Add(30*time.Minute)
	s, hook := hookedStore(t, prefix, func() {
		if err := other.Delete(ctx, id); err != nil {
			t.Errorf("Delete: %v", err)
			return
		}
		if _, err := other.Put(ctx, &store.Record{ID: id, Provider: "jumpseller", Status: store.Active, Expiry: newExpiry, Secret: []byte("s2")}, 0); err != nil {
			t.Errorf("Put (created again): %v", err)
		}
	})
	if _, err := other.Put(ctx, &store.Record{ID: id, Provider: "jumpseller", Status: store.Active, Expiry: oldExpiry, Secret: []byte("s1")}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	if !hook.done.Load() {
		t.Fatal("the hook did not run: Reindex sent no EVALSHA")
	}
	if d := cmp.Diff(map[string]float64{id: float64(newExpiry.UnixMicro())}, dueIndex(t, prefix)); d != "" {
		t.Errorf("the due index after Reindex raced a Delete and a Put (-want +got):\n%s", d)
	}
	due, err := s.Due(ctx, now.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].ID != id {
		t.Errorf("Due(now+1h) = %d records, want the connection whose token expires in 30 minutes", len(due))
	}
}

// TestDeletedMarkerReindexesRunningInstance shows that deleting the marker
// <prefix>due:indexed, as docs/stores.md tells operators to after a rolling
// upgrade, makes the next Due of an instance already running index the
// store again, and enter a hash that the earlier code (which knew no index)
// wrote after the marker was set.
func TestDeletedMarkerReindexesRunningInstance(t *testing.T) {
	client := server(t)
	prefix := freshPrefix(t)
	ctx := context.Background()
	s := redis.New(client, prefix) // an instance of this code, running
	when := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.Due(ctx, when, 0); err != nil { // its scheduler ran once: the marker is set
		t.Fatal(err)
	}
	// During the rolling upgrade, an instance of the earlier code creates
	// a connection, which does not enter the index.
	res, err := oldPutScript.Run(ctx, client, []string{prefix + "conn:late", prefix + "fence:late", prefix + "ids"},
		0, 0, oldData, "sealed", "late").StringSlice()
	if err != nil || res[0] != "ok" {
		t.Fatalf("the earlier Put script = %q, %v", res, err)
	}
	if due, err := s.Due(ctx, when, 0); err != nil || len(due) != 0 {
		t.Fatalf("Due before the marker is deleted = %d records, %v; want none (the hash is not indexed yet)", len(due), err)
	}
	// Every instance now runs this code: the operator deletes the marker.
	if err := client.Del(ctx, prefix+"due:indexed").Err(); err != nil {
		t.Fatal(err)
	}
	due, err := s.Due(ctx, when, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].ID != "late" {
		t.Errorf("Due after DEL %sdue:indexed = %d records, want the connection the earlier code wrote, \"late\"", prefix, len(due))
	}
	if v := client.Get(ctx, prefix+"due:indexed").Val(); v != "1" {
		t.Errorf("the marker after that Due = %q, want 1", v)
	}
}

// TestDueRacingRecreateOfGoneHash shows that Due, paging with a limit,
// counts as taken out only the entries it did take out. Due reads a page
// of the index and finds the hash of its first entry gone (the earlier
// code deleted it, without its entry); before Due takes that entry out,
// the earlier code creates the connection again, so the entry stays where
// it was. Had Due counted it as taken out, it would read its next page one
// entry short and return the last record of this page twice.
func TestDueRacingRecreateOfGoneHash(t *testing.T) {
	client := server(t)
	prefix := freshPrefix(t)
	ctx := context.Background()
	other := redis.New(client, prefix)
	base := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	for i, id := range []string{"a", "b", "c"} {
		if _, err := other.Put(ctx, &store.Record{ID: id, Provider: "shopline", Status: store.Active,
			Expiry: base.Add(time.Duration(i) * time.Minute)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Reindex(ctx); err != nil { // sets the marker: Due will not index
		t.Fatal(err)
	}
	// The earlier code deletes a: the hash and the id, not the entry.
	if err := client.Del(ctx, prefix+"conn:a").Err(); err != nil {
		t.Fatal(err)
	}
	client.ZRem(ctx, prefix+"ids", "a")
	s, hook := hookedStore(t, prefix, func() {
		// The earlier code creates a again, with the same expiry
		// (oldData's): its entry is where it was.
		res, err := oldPutScript.Run(ctx, client, []string{prefix + "conn:a", prefix + "fence:a", prefix + "ids"},
			0, 0, oldData, "sealed", "a").StringSlice()
		if err != nil || res[0] != "ok" {
			t.Errorf("the earlier Put script = %q, %v", res, err)
		}
	})
	due, err := s.Due(ctx, base.Add(time.Hour), 2)
	if err != nil {
		t.Fatal(err)
	}
	if !hook.done.Load() {
		t.Fatal("the hook did not run: Due sent no EVALSHA")
	}
	ids := []string{}
	for _, r := range due {
		ids = append(ids, r.ID)
	}
	if d := cmp.Diff([]string{"b", "c"}, ids); d != "" {
		t.Errorf("Due(limit 2) while a gone hash was created again (-want +got):\n%s", d)
	}
	if _, ok := dueIndex(t, prefix)["a"]; !ok {
		t.Error("Due took out the entry of a hash created again")
	}
}
