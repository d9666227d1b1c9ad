package redis_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	goredis "github.com/redis/go-redis/v9"

	"github.com/connector-go/connector/conformance"
	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/internal/testenv"
	"github.com/connector-go/connector/store"
	"github.com/connector-go/connector/store/internal/leaktest"
	"github.com/connector-go/connector/store/redis"
)

// TestMain says, when the tests end, whether they found no Redis server.
func TestMain(m *testing.M) { testenv.Main(m) }

// The server the tests use: CONNECTOR_TEST_REDIS, or the local one.
func baseURL() string {
	if v := os.Getenv("CONNECTOR_TEST_REDIS"); v != "" {
		return v
	}
	return "redis://127.0.0.1:6379/0"
}

var (
	adminOnce sync.Once
	admin     *goredis.Client
	adminErr  error
)

// server returns a client of the test server, or skips the test when there
// is none — except in CI, where an absent service is a failure.
func server(t testing.TB) *goredis.Client {
	t.Helper()
	adminOnce.Do(func() {
		opts, err := goredis.ParseURL(baseURL())
		if err != nil {
			adminErr = err
			return
		}
		admin = goredis.NewClient(opts)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		adminErr = admin.Ping(ctx).Err()
	})
	if adminErr != nil {
		msg := fmt.Sprintf("Redis is not reachable at %s (%v); start one (e.g. docker run -d -p 6379:6379 redis:7, or redis-server) or set CONNECTOR_TEST_REDIS", baseURL(), adminErr)
		testenv.Absent(t, "Redis", msg)
	}
	return admin
}

// freshPrefix returns an unused key prefix whose keys are deleted when the
// test ends.
func freshPrefix(t testing.TB) string {
	client := server(t)
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "connector-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys, err := keysUnder(ctx, client, prefix)
		if err == nil && len(keys) > 0 {
			err = client.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("clean up %s*: %v", prefix, err)
		}
	})
	return prefix
}

func keysUnder(ctx context.Context, client *goredis.Client, prefix string) ([]string, error) {
	var keys []string
	iter := client.Scan(ctx, 0, globEscape(prefix)+"*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func location(prefix string) string {
	sep := "?"
	if strings.Contains(baseURL(), "?") {
		sep = "&"
	}
	return baseURL() + sep + "prefix=" + url.QueryEscape(prefix)
}

type harness struct{}

func (harness) MakeStore(ctx context.Context, t testing.TB) (store.Store, error) {
	s, err := redis.Open(ctx, location(freshPrefix(t)))
	return s, err
}

func (harness) Location(_ testing.TB, s store.Store) string {
	return location(s.(*redis.Store).Prefix())
}

// RawValues is every value under the store's prefix: strings, hash fields
// and values, set members.
func (harness) RawValues(ctx context.Context, t testing.TB, s store.Store) ([][]byte, error) {
	return dumpPrefix(ctx, server(t), s.(*redis.Store).Prefix())
}

func dumpPrefix(ctx context.Context, client *goredis.Client, prefix string) ([][]byte, error) {
	keys, err := keysUnder(ctx, client, prefix)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, k := range keys {
		out = append(out, []byte(k))
		typ, err := client.Type(ctx, k).Result()
		if err != nil {
			return nil, err
		}
		switch typ {
		case "string":
			v, err := client.Get(ctx, k).Bytes()
			if err != nil && err != goredis.Nil {
				return nil, err
			}
			out = append(out, v)
		case "hash":
			h, err := client.HGetAll(ctx, k).Result()
			if err != nil {
				return nil, err
			}
			for f, v := range h {
				out = append(out, []byte(f), []byte(v))
			}
		case "zset":
			m, err := client.ZRange(ctx, k, 0, -1).Result()
			if err != nil {
				return nil, err
			}
			for _, v := range m {
				out = append(out, []byte(v))
			}
		case "none": // expired meanwhile
		default:
			return nil, fmt.Errorf("key %s has type %s, which the dump does not read", k, typ)
		}
	}
	return out, nil
}

func setKey(t *testing.T) {
	t.Setenv(store.EnvKey, base64.StdEncoding.EncodeToString(store.NewRandomKey()))
	t.Setenv(store.EnvOldKeys, "")
}

func TestConformance(t *testing.T) {
	server(t)
	setKey(t)
	conformance.TestStore(t, harness{})
}

func TestHelperStoreProcess(t *testing.T) { conformance.StoreHelperProcess(t) }

func TestParseLocation(t *testing.T) {
	tests := []struct {
		name, location, wantURL, wantPrefix string
	}{
		{"default prefix", "redis://h:6379/0", "redis://h:6379/0", "connector:"},
		{"prefix", "redis://h/1?prefix=app:conn:", "redis://h/1", "app:conn:"},
		{"escaped prefix", "redis://h/1?prefix=%7Bconnector%7D%3A", "redis://h/1", "{connector}:"},
		{"tls and options kept", "rediss://:pw@h:6380/2?prefix=p&dial_timeout=3s", "rediss://:pw@h:6380/2?dial_timeout=3s", "p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := redis.ParseLocation(tt.location)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([2]string{tt.wantURL, tt.wantPrefix}, [2]string{got.URL, got.Prefix}); d != "" {
				t.Errorf("ParseLocation(%q) [URL, Prefix] (-want +got):\n%s", tt.location, d)
			}
		})
	}
}

func TestLocationErrors(t *testing.T) {
	setKey(t)
	tests := []struct{ name, location, want string }{
		{"empty prefix", "redis://:hunter2@h/0?prefix=", "prefix must be"},
		{"two prefixes", "redis://:hunter2@h/0?prefix=a&prefix=b", "prefix must be"},
		{"schema", "redis://:hunter2@h/0?schema=x", `parameter "schema" is not supported; use prefix=`},
		{"connector parameter", "redis://:hunter2@h/0?connector_prefix=x", `unknown connector parameter "connector_prefix"`},
		{"semicolon", "redis://:hunter2@h/0?prefix=a;b", "malformed parameters"},
		{"unknown go-redis option", "redis://:hunter2@h/0?bogus_option=1", "unexpected option"},
		{"bad db", "redis://:hunter2@h/notanumber", "invalid database"},
		{"wrong scheme", "http://:hunter2@h/0", "want redis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redis.Open(context.Background(), tt.location)
			if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open(%q) = %v, want an InvalidConfig error containing %q", tt.location, err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error holds the password: %v", err)
			}
		})
	}
}

func TestOpenWithoutKey(t *testing.T) {
	t.Setenv(store.EnvKey, "")
	_, _, err := store.Open(context.Background(), "rediss://:hunter2@127.0.0.1:1/0")
	if driver.CodeOf(err) != driver.InvalidConfig || !strings.Contains(err.Error(), store.EnvKey) {
		t.Fatalf("Open without a key = %v, want an InvalidConfig error that names %s", err, store.EnvKey)
	}
}

func TestPasswordNotInErrors(t *testing.T) {
	setKey(t)
	const pw = "s3cr3t-Pa55w0rd"
	for _, loc := range []string{
		"redis://:" + pw + "@127.0.0.1:1/0?dial_timeout=1s",
		"redis://user:" + pw + "@127.0.0.1:1/0?pool_size=x",
		"redis://user:" + pw + "@[::1/0",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _, err := store.Open(ctx, loc)
		cancel()
		if err == nil {
			t.Errorf("Open succeeded")
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Open error holds the password: %v", err)
		}
		t.Logf("%v", err)
	}
}

// TestNoTokenInRedis seals a known token through the keyring Open returns,
// writes it, takes a lease, then reads every value under the prefix.
func TestNoTokenInRedis(t *testing.T) {
	client := server(t)
	setKey(t)
	prefix := freshPrefix(t)
	ctx := context.Background()
	s, keys, err := store.Open(ctx, location(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const access, refresh = "ACCESS-5e6f7a8b9c0d1e2f", "REFRESH-3c4d5e6f7a8b9c0d"
	sealed, err := keys.Seal("shop-3", []byte(`{"access_token":"`+access+`","refresh_token":"`+refresh+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, &store.Record{ID: "shop-3", Provider: "shopline", Account: "visible-merchant-3", Secret: sealed}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Lock(ctx, "shop-3", time.Minute); err != nil {
		t.Fatal(err)
	}
	vals, err := dumpPrefix(ctx, client, prefix)
	if err != nil {
		t.Fatal(err)
	}
	all := bytes.Join(vals, []byte{0})
	if !bytes.Contains(all, []byte("visible-merchant-3")) {
		t.Fatalf("the dump lacks the account: it does not cover the keys")
	}
	for _, tok := range []string{access, refresh} {
		for _, enc := range []string{tok, hex.EncodeToString([]byte(tok)), base64.StdEncoding.EncodeToString([]byte(tok))} {
			if bytes.Contains(all, []byte(enc)) {
				t.Errorf("token %q is in a Redis value as %q", tok, enc)
			}
		}
	}
}

// TestKeys checks the key layout the package documents, for ids with ':'
// and '/' as the engine makes them (namespace/client id/provider:account).
func TestKeys(t *testing.T) {
	client := server(t)
	setKey(t)
	for _, tt := range []struct{ name, id string }{
		{"colon", "a:b"},
		{"engine id", "ns/client-id/shopline:merchant-42"},
		{"separators only", "/:/"},
	} {
		id := tt.id
		t.Run(tt.name, func(t *testing.T) {
			prefix := freshPrefix(t)
			ctx := context.Background()
			s, err := redis.Open(ctx, location(prefix))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rec := &store.Record{ID: id, App: "client-id", Ref: "customer/42:ü", Tags: []string{"x"}}
			if _, err := s.Put(ctx, rec, 0); err != nil {
				t.Fatal(err)
			}
			l, _, err := s.Lock(ctx, id, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			keys, _ := keysUnder(ctx, client, prefix)
			want := []string{prefix + "conn:" + id, prefix + "fence:" + id, prefix + "ids", prefix + "lease:" + id}
			if d := cmp.Diff(want, sorted(keys)); d != "" {
				t.Errorf("keys (-want +got):\n%s", d)
			}
			if v := client.Get(ctx, prefix+"lease:"+id).Val(); v != fmt.Sprint(l.Fence) {
				t.Errorf("lease value %q, want its fence %d", v, l.Fence)
			}
			if ttl := client.PTTL(ctx, prefix+"lease:"+id).Val(); ttl <= 0 || ttl > time.Minute {
				t.Errorf("lease PTTL %v, want within a minute", ttl)
			}
			if ttl := client.PTTL(ctx, prefix+"fence:"+id).Val(); ttl != -1 {
				t.Errorf("fence counter PTTL %v, want none (it must never expire)", ttl)
			}
			fields, _ := client.HKeys(ctx, prefix+"conn:"+id).Result()
			if d := cmp.Diff([]string{"app", "created", "data", "namespace", "ref", "secret", "tags", "updated", "version"}, sorted(fields)); d != "" {
				t.Errorf("hash fields (-want +got):\n%s", d)
			}
			got, err := s.Get(ctx, id)
			if err != nil || got.Ref != rec.Ref || got.App != rec.App {
				t.Errorf("Get = %+v, %v; want the record", got, err)
			}
		})
	}
}

// The hash of a connection as the earlier code wrote it, frozen here: its
// fields (version, data, secret, created, updated; no app, namespace, ref
// or tags), its data JSON and its Put script.
const (
	oldID      = "ns/legacy/shopline:merchant-42"
	oldData    = `{"provider":"shopline","account":"merchant-42","scopes":["products","orders"],"status":"active","reason":"","expiry":"2030-01-02T03:04:05.123456Z"}`
	oldCreated = "1714521600000001" // Unix µs
	oldUpdated = "1717200000000002"
)

var oldPutScript = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'version')
local want = tonumber(ARGV[1])
if want == 0 then
  if cur then return {'exists', cur} end
else
  if not cur then return {'missing', ''} end
  if tonumber(cur) ~= want then return {'version', cur} end
end
local fence = tonumber(ARGV[2])
if fence > 0 then
  local granted = tonumber(redis.call('GET', KEYS[2]) or '0')
  if granted > fence then return {'fenced', string.format('%.0f', granted)} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local created = now
if cur then
  created = tonumber(redis.call('HGET', KEYS[1], 'created'))
  local updated = tonumber(redis.call('HGET', KEYS[1], 'updated'))
  if now <= updated then now = updated + 1 end
end
local c, u, v = string.format('%.0f', created), string.format('%.0f', now), string.format('%.0f', want + 1)
redis.call('HSET', KEYS[1], 'version', v, 'data', ARGV[3], 'secret', ARGV[4], 'created', c, 'updated', u)
redis.call('ZADD', KEYS[3], 0, ARGV[5])
return {'ok', v}
`)

// TestReadsEarlierHashes writes a connection as the earlier code did (its
// fields, its fence counter at 7) and reads it with this code: it comes
// back as it was, with no application, reference or tags; a write with the
// new fields round-trips; and a write by an instance still running the
// earlier code keeps them.
func TestReadsEarlierHashes(t *testing.T) {
	client := server(t)
	prefix := freshPrefix(t)
	ctx := context.Background()
	secret := []byte{0, 1, 2, 0xff, 'x'}
	if err := client.HSet(ctx, prefix+"conn:"+oldID, "version", "3", "data", oldData, "secret", secret,
		"created", oldCreated, "updated", oldUpdated).Err(); err != nil {
		t.Fatal(err)
	}
	client.ZAdd(ctx, prefix+"ids", goredis.Z{Score: 0, Member: oldID})
	client.Set(ctx, prefix+"fence:"+oldID, "7", 0)

	s := redis.New(client, prefix)
	want := &store.Record{
		ID: oldID, Provider: "shopline", Account: "merchant-42", Scopes: []string{"products", "orders"}, Status: store.Active,
		Expiry: time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC), Secret: secret, Version: 3,
		CreatedAt: time.UnixMicro(1714521600000001).UTC(), UpdatedAt: time.UnixMicro(1717200000000002).UTC(),
	}
	got, err := s.Get(ctx, oldID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Get of an earlier hash (-want +got):\n%s", d)
	}
	if all, err := s.List(ctx); err != nil || len(all) != 1 || cmp.Diff(want, all[0]) != "" {
		t.Errorf("List = %v, %v; want the earlier record", all, err)
	}
	l, _, err := s.Lock(ctx, oldID, time.Minute)
	if err != nil || l.Fence != 8 {
		t.Fatalf("Lock = %+v, %v; want fence 8", l, err)
	}

	rec := got.Clone()
	rec.App, rec.Namespace, rec.Ref, rec.Tags = "client/id:1", "ns", "customer/42:ü", []string{"blue", "eu:west"}
	if rec.Version, err = s.Put(ctx, rec, l.Fence); err != nil || rec.Version != 4 {
		t.Fatalf("Put with the new fields = %d, %v; want version 4", rec.Version, err)
	}
	got, err = s.Get(ctx, oldID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rec, got, cmpopts.IgnoreFields(store.Record{}, "UpdatedAt")); d != "" {
		t.Errorf("after a Put with the new fields (-want +got):\n%s", d)
	}

	// An instance still on the earlier code writes: the fields it does not
	// know stay.
	res, err := oldPutScript.Run(ctx, client, []string{prefix + "conn:" + oldID, prefix + "fence:" + oldID, prefix + "ids"},
		4, 0, strings.Replace(oldData, "merchant-42", "renamed", 1), secret, oldID).StringSlice()
	if err != nil || res[0] != "ok" {
		t.Fatalf("the earlier Put script = %q, %v", res, err)
	}
	got, err = s.Get(ctx, oldID)
	if err != nil {
		t.Fatal(err)
	}
	rec.Account, rec.Version = "renamed", 5
	if d := cmp.Diff(rec, got, cmpopts.IgnoreFields(store.Record{}, "UpdatedAt")); d != "" {
		t.Errorf("after a Put by the earlier code (-want +got):\n%s", d)
	}
}

// TestReadsHashesWithMissingFields writes hashes with the raw client, as
// the earlier code left them (no app, namespace, ref or tags) and with
// other fields absent, the last of the list or in its middle, and reads
// each through Get, List and Lock (the lease taken, then held), over RESP2
// and RESP3 (which answer a script's false differently): an absent app,
// namespace or ref reads as "", absent tags as nil, an absent secret as
// empty, no hash as no record, and a hash without a version fails.
func TestReadsHashesWithMissingFields(t *testing.T) {
	server(t)
	ctx := context.Background()
	secret := []byte{0, 1, 2, 0xff, 'x'}
	earlier := &store.Record{
		ID: oldID, Provider: "shopline", Account: "merchant-42", Scopes: []string{"products", "orders"}, Status: store.Active,
		Expiry: time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC), Secret: secret, Version: 3,
		CreatedAt: time.UnixMicro(1714521600000001).UTC(), UpdatedAt: time.UnixMicro(1717200000000002).UTC(),
	}
	// hash is the earlier code's hash with the fields of set added (or
	// replaced) and those of drop removed.
	hash := func(set map[string]any, drop ...string) map[string]any {
		h := map[string]any{"version": "3", "data": oldData, "secret": secret, "created": oldCreated, "updated": oldUpdated}
		for k, v := range set {
			h[k] = v
		}
		for _, k := range drop {
			delete(h, k)
		}
		return h
	}
	// record is the earlier record changed by edit.
	record := func(edit func(r *store.Record)) *store.Record {
		r := earlier.Clone()
		edit(r)
		return r
	}
	all := map[string]any{"app": "client/id:1", "namespace": "ns", "ref": "customer/42:ü", "tags": `["blue","eu:west"]`}
	tests := []struct {
		name    string
		hash    map[string]any // nil: no hash
		want    *store.Record  // nil: no record
		wantErr string         // the error of Get, List and Lock
	}{
		{name: "earlier hash", hash: hash(nil), want: earlier},
		{name: "every field", hash: hash(all), want: record(func(r *store.Record) {
			r.App, r.Namespace, r.Ref, r.Tags = "client/id:1", "ns", "customer/42:ü", []string{"blue", "eu:west"}
		})},
		{name: "app and namespace missing, ref and tags there", hash: hash(all, "app", "namespace"), want: record(func(r *store.Record) {
			r.Ref, r.Tags = "customer/42:ü", []string{"blue", "eu:west"}
		})},
		{name: "namespace missing", hash: hash(all, "namespace"), want: record(func(r *store.Record) {
			r.App, r.Ref, r.Tags = "client/id:1", "customer/42:ü", []string{"blue", "eu:west"}
		})},
		{name: "tags missing, the last field", hash: hash(all, "tags"), want: record(func(r *store.Record) {
			r.App, r.Namespace, r.Ref = "client/id:1", "ns", "customer/42:ü"
		})},
		{name: "tags empty", hash: hash(map[string]any{"app": "a", "tags": "[]"}), want: record(func(r *store.Record) { r.App = "a" })},
		{name: "secret missing", hash: hash(all, "secret"), want: record(func(r *store.Record) {
			r.App, r.Namespace, r.Ref, r.Tags, r.Secret = "client/id:1", "ns", "customer/42:ü", []string{"blue", "eu:west"}, []byte{}
		})},
		{name: "no hash"},
		{name: "version missing", hash: hash(all, "version"), wantErr: `connection "` + oldID + `": version: strconv.ParseInt: parsing "": invalid syntax`},
		{name: "a version of 100 kB, planted", hash: hash(map[string]any{"version": strings.Repeat("9", 100_000)}),
			wantErr: `connection "` + oldID + `": version: 100000 bytes, not a number`},
		{name: "an updated time of 100 kB, planted", hash: hash(map[string]any{"updated": strings.Repeat("x", 100_000)}),
			wantErr: `connection "` + oldID + `": timestamps: 100000 bytes, not a number`},
	}
	for _, protocol := range []int{2, 3} {
		opts, err := goredis.ParseURL(baseURL())
		if err != nil {
			t.Fatal(err)
		}
		opts.Protocol = protocol
		client := goredis.NewClient(opts)
		defer client.Close()
		for _, tt := range tests {
			t.Run(fmt.Sprintf("resp%d/%s", protocol, tt.name), func(t *testing.T) {
				prefix := freshPrefix(t)
				if tt.hash != nil {
					if err := client.HSet(ctx, prefix+"conn:"+oldID, tt.hash).Err(); err != nil {
						t.Fatal(err)
					}
				}
				client.ZAdd(ctx, prefix+"ids", goredis.Z{Score: 0, Member: oldID})
				client.Set(ctx, prefix+"fence:"+oldID, "7", 0)
				s := redis.New(client, prefix)
				check := func(op string, got *store.Record, err error, notFound bool) {
					t.Helper()
					if tt.wantErr != "" {
						if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
							t.Errorf("%s = %v, want an error containing %q", op, err, tt.wantErr)
						}
						return
					}
					if tt.want == nil && notFound {
						if !errors.Is(err, store.ErrNotFound) {
							t.Errorf("%s = %v, want store.ErrNotFound", op, err)
						}
						return
					}
					if err != nil {
						t.Errorf("%s: %v", op, err)
					}
					if d := cmp.Diff(tt.want, got); d != "" {
						t.Errorf("%s (-want +got):\n%s", op, d)
					}
				}

				got, err := s.Get(ctx, oldID)
				check("Get", got, err, true)

				list, err := s.List(ctx)
				got = nil
				if err == nil && len(list) > 1 {
					t.Errorf("List = %d records, want at most one", len(list))
				}
				if len(list) > 0 {
					got = list[0]
				}
				check("List", got, err, false)

				l, got, err := s.Lock(ctx, oldID, time.Minute)
				check("Lock", got, err, false)
				if tt.wantErr == "" && (l == nil || l.Fence != 8) {
					t.Errorf("Lock = lease %+v, want fence 8", l)
				}
				l, got, err = s.Lock(ctx, oldID, time.Minute)
				if tt.wantErr == "" {
					if !errors.Is(err, store.ErrLocked) || l != nil {
						t.Errorf("Lock of a held lease = %+v, %v; want store.ErrLocked", l, err)
					}
					err = nil
				}
				check("Lock of a held lease", got, err, false)
			})
		}
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestNewOnCallersClient(t *testing.T) {
	client := server(t)
	prefix := freshPrefix(t)
	ctx := context.Background()
	s := redis.New(client, prefix)
	if _, err := s.Put(ctx, &store.Record{ID: "x"}, 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Errorf("Close closed the caller's client: %v", err)
	}
}

// TestNoGoRedisLogs runs a store through an outage in a child process and
// reads the child's stderr, the real file descriptor 2 (go-redis's default
// logger holds the os.Stderr of its init, so swapping os.Stderr in this
// process would not see its lines): the store must return its errors and
// print nothing. Today's go-redis prints "connection pool: failed to dial
// after 5 attempts" lines there.
func TestNoGoRedisLogs(t *testing.T) {
	tests := []struct {
		name      string
		needRedis bool // the scenario proxies to the test server
	}{
		{"open-on-a-closed-port", false},
		{"use-during-an-outage", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append(os.Environ(), "REDIS_OUTAGE_SCENARIO="+tt.name)
			if tt.needRedis {
				server(t)
				opts, err := goredis.ParseURL(baseURL())
				if err != nil {
					t.Fatal(err)
				}
				if opts.TLSConfig != nil {
					t.Skip("the outage proxy does not carry TLS (its host name would not match)")
				}
				env = append(env, "REDIS_OUTAGE_UPSTREAM="+opts.Addr)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRedisOutage$", "-test.count=1", "-test.v")
			cmd.Env = append(env, store.EnvKey+"="+base64.StdEncoding.EncodeToString(store.NewRandomKey()))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if err != nil || !strings.Contains(stdout.String(), "outage-ok") {
				t.Fatalf("child: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			t.Logf("child:\n%s", stdout.String())
			if d := cmp.Diff("", stderr.String()); d != "" {
				t.Errorf("the store's process wrote to stderr (-want +got):\n%s", d)
			}
		})
	}
}

// TestHelperRedisOutage is the child of TestNoGoRedisLogs.
func TestHelperRedisOutage(t *testing.T) {
	scenario := os.Getenv("REDIS_OUTAGE_SCENARIO")
	if scenario == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch scenario {
	case "open-on-a-closed-port":
		addr := closedPort(t)
		_, err := redis.Open(ctx, "redis://"+addr+"/0")
		if err == nil || !strings.Contains(err.Error(), addr) {
			t.Fatalf("Open on the closed port %s = %v, want an error naming it", addr, err)
		}
		t.Logf("Open: %v", err)
	case "use-during-an-outage":
		p := startProxy(t, os.Getenv("REDIS_OUTAGE_UPSTREAM"))
		u, err := url.Parse(baseURL())
		if err != nil {
			t.Fatal(err)
		}
		u.Host = p.addr()
		s, err := redis.Open(ctx, u.String()+"?prefix=connector-test:outage:&max_retries=2")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Get(ctx, "absent"); driver.CodeOf(err) != driver.NotFound {
			t.Fatalf("Get before the outage = %v, want NotFound", err)
		}
		p.stop()
		if _, err := s.Get(ctx, "absent"); err == nil || driver.CodeOf(err) == driver.NotFound {
			t.Fatalf("Get during the outage = %v, want an error", err)
		}
		if _, err := s.Put(ctx, &store.Record{ID: "x"}, 0); err == nil {
			t.Fatal("Put during the outage succeeded")
		} else {
			t.Logf("Put: %v", err)
		}
	default:
		t.Fatalf("unknown scenario %q", scenario)
	}
	fmt.Println("outage-ok")
}

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// proxy forwards loopback connections to upstream until stop, which closes
// the listener and every connection: an outage, seen from the client.
type proxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) stop() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestDueIndex checks the due index against hashes written by the earlier
// code, which knew no index: the first Due enters them (Reindex) and sets
// the marker; Puts move an entry and take it out; a hash the earlier code
// writes after that is found once Reindex runs again; an entry whose hash
// the earlier code deleted is removed by Due.
func TestDueIndex(t *testing.T) {
	client := server(t)
	prefix := freshPrefix(t)
	ctx := context.Background()
	oldPut := func(id, data string, version int) {
		t.Helper()
		res, err := oldPutScript.Run(ctx, client, []string{prefix + "conn:" + id, prefix + "fence:" + id, prefix + "ids"},
			version, 0, data, "sealed", id).StringSlice()
		if err != nil || res[0] != "ok" {
			t.Fatalf("the earlier Put script = %q, %v", res, err)
		}
	}
	reauthData := strings.Replace(oldData, `"status":"active"`, `"status":"needs_reauth"`, 1)
	oldPut(oldID, oldData, 0)
	oldPut("ns/legacy/shopline:reauth", reauthData, 0)
	oldExpiry := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	when := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)

	s := redis.New(client, prefix)
	dueIDs := func(what string) []string {
		t.Helper()
		recs, err := s.Due(ctx, when, 0)
		if err != nil {
			t.Fatalf("Due %s: %v", what, err)
		}
		ids := []string{}
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if d := cmp.Diff([]string{oldID}, dueIDs("on earlier hashes")); d != "" {
		t.Errorf("Due on earlier hashes (-want +got):\n%s", d)
	}
	if v := client.Get(ctx, prefix+"due:indexed").Val(); v != "1" {
		t.Errorf("the marker due:indexed = %q, want 1", v)
	}
	index := func() map[string]float64 {
		zs, err := client.ZRangeWithScores(ctx, prefix+"due", 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]float64{}
		for _, z := range zs {
			m[z.Member.(string)] = z.Score
		}
		return m
	}
	if d := cmp.Diff(map[string]float64{oldID: float64(oldExpiry.UnixMicro())}, index()); d != "" {
		t.Errorf("the due index after Reindex (-want +got):\n%s", d)
	}

	// This code's Puts keep the index.
	rec, err := s.Get(ctx, oldID)
	if err != nil {
		t.Fatal(err)
	}
	rec.Expiry = oldExpiry.Add(time.Hour)
	if rec.Version, err = s.Put(ctx, rec, 0); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]float64{oldID: float64(rec.Expiry.UnixMicro())}, index()); d != "" {
		t.Errorf("the due index after a Put moved the expiry (-want +got):\n%s", d)
	}
	rec.Status = store.NeedsReauth
	if rec.Version, err = s.Put(ctx, rec, 0); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]float64{}, index()); d != "" {
		t.Errorf("the due index after a Put to needs_reauth (-want +got):\n%s", d)
	}
	rec.Status = store.Active
	if rec.Version, err = s.Put(ctx, rec, 0); err != nil {
		t.Fatal(err)
	}

	// A hash the earlier code creates now is not in the index until
	// Reindex; one it deletes is taken out by Due.
	oldPut("late-comer", oldData, 0)
	if d := cmp.Diff([]string{oldID}, dueIDs("with a hash written by the earlier code")); d != "" {
		t.Errorf("Due before Reindex (-want +got):\n%s", d)
	}
	if err := s.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"late-comer", oldID}, dueIDs("after Reindex")); d != "" {
		t.Errorf("Due after Reindex (-want +got):\n%s", d)
	}
	client.Del(ctx, prefix+"conn:late-comer")
	client.ZRem(ctx, prefix+"ids", "late-comer")
	if d := cmp.Diff([]string{oldID}, dueIDs("after the earlier code deleted a hash")); d != "" {
		t.Errorf("Due after the earlier code deleted a hash (-want +got):\n%s", d)
	}
	if _, ok := index()["late-comer"]; ok {
		t.Error("the entry of a deleted hash stayed in the due index")
	}
	if err := s.Delete(ctx, oldID); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]float64{}, index()); d != "" {
		t.Errorf("the due index after Delete (-want +got):\n%s", d)
	}
}

// TestOpenExisting checks that store.OpenExisting (the backend opened with
// store.OpenOptions{Existing: true}) writes nothing and takes a prefix under
// which no connection is stored for no store.
func TestOpenExisting(t *testing.T) {
	client := server(t)
	setKey(t)
	ctx := context.Background()
	prefix := freshPrefix(t)
	_, _, err := store.OpenExisting(ctx, location(prefix))
	if !errors.Is(err, store.ErrNoStore) || driver.CodeOf(err) != driver.NotFound || !strings.Contains(err.Error(), prefix) {
		t.Fatalf("OpenExisting of an empty prefix = %v, want store.ErrNoStore (NotFound) naming the prefix", err)
	}
	if keys, _ := keysUnder(ctx, client, prefix); len(keys) != 0 {
		t.Errorf("OpenExisting wrote %q", keys)
	}
	s, _, err := store.Open(ctx, location(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(ctx, &store.Record{ID: "c", Provider: "p", Status: store.Active}, 0); err != nil {
		t.Fatal(err)
	}
	s2, _, err := store.OpenExisting(ctx, location(prefix))
	if err != nil {
		t.Fatalf("OpenExisting of a prefix with a connection: %v", err)
	}
	s2.Close()
}

// TestLocationPrintsNoPassword: however a Location is printed, its
// password is not.
func TestLocationPrintsNoPassword(t *testing.T) {
	loc, err := redis.ParseLocation("rediss://user:p%40ss-hunter2@h:6380/2?prefix=p")
	if err != nil {
		t.Fatal(err)
	}
	leaktest.NotPrinted(t, loc, "hunter2")
	leaktest.NotPrinted(t, *loc, "hunter2")
}
