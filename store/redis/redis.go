// Package redis is a Store in Redis, through go-redis v9, for many instances
// of an application sharing one Redis. It registers the scheme "redis"
// (store.Open maps "rediss", Redis over TLS, to it): an OAuthSettingsLocation
// such as
//
//	rediss://:secret@cache.internal:6380/2?prefix=myapp:connector:
//
// opens it. The parameter prefix (default "connector:") is the connector's
// own: every key it writes starts with it. It is removed before the rest is
// given to go-redis's ParseURL, which reads its own options (dial_timeout,
// pool_size, ...) and refuses unknown ones.
//
// # Storage
//
// With P the prefix and id a connection id:
//
//	P conn:<id>   hash: version, data (JSON: provider, account, scopes,
//	              status, reason, expiry), secret (the sealed bytes as given),
//	              created, updated (Unix µs by the Redis server's clock),
//	              app, namespace, ref (the strings as given), tags (JSON array)
//	P ids         sorted set of ids, all scored 0 (so ordered bytewise), for List
//	P due         sorted set of the ids of the Active records with an expiry,
//	              scored by the expiry (Unix µs), for Due (store.DueLister)
//	P due:indexed string "1": every hash has been entered in P due (Reindex)
//	P lease:<id>  string: the lease's fence, with a PX expiry
//	P fence:<id>  integer: the highest fence granted on id; never deleted
//	P claim:<key> string "1" with a PX expiry: a claim (one per consumed
//	              authorization state); Redis expires it
//
// The id is used in keys as it is, whatever bytes it holds ('/' and ':'
// included): after the fixed prefix and type, the rest of a key is the id,
// so two ids never share a key.
//
// The hash fields app, namespace, ref and tags were added after the others
// and need no migration: in a hash written before them they are absent,
// and an absent field reads as "" (tags as nil). They are hash fields of
// their own, not keys of the data JSON, so that an instance still running
// the earlier code, whose Put rewrites only the fields it knows, leaves
// them as they are.
//
// # The due index
//
// Put and Delete keep P due in the same script as the hash: a record
// enters it, scored by its expiry, when it is written Active with an
// expiry, and leaves it when it is written with another status or no
// expiry, or deleted. Due reads it in score order (ZRANGE BYSCORE, ties by
// id, bytewise) and then the hashes, and keeps only what they say is due:
// an entry the earlier code left stale (it wrote the hash without the
// index) is skipped, and one whose hash is gone is removed.
//
// Hashes written by earlier code, which knew no index, enter it lazily: a
// Due that finds no P due:indexed (it reads the marker each time, one
// EXISTS) runs Reindex, which enters every hash and then sets the marker.
// Each entry is made under a check that the hash's data field still holds
// the bytes Reindex read and computed the score from, so that a Put running
// at the same time wins, even one that creates anew, at version 1, a
// connection deleted since the read. An instance still running
// the earlier code while others run this one writes hashes that do not
// move in the index until their next Put by this code; once every instance
// runs this code, call Reindex once (or delete P due:indexed, and the next
// Due of any instance does) to bring their entries up to date.
//
// # Locking and fencing
//
// Every write is one Lua script (EVALSHA), so Redis runs it atomically and
// each call is one round trip: Lock takes the lease with SET NX PX, its
// value its fence, one above the counter, INCRs the counter, and returns
// the record's hash (also when the lease is held); Unlock deletes the lease
// only if it still holds its fence (compare and delete); Put checks the
// version and that the counter is not above its fence, then writes the
// hash and the index; PutUnlock is Put's script, which then releases the
// lease only if the write was made. Lease expiry is Redis's own
// (PX), so instances need no common clock. Persistence and replication are
// Redis's: run it with AOF (appendfsync everysec or always) or accept that a
// crash may lose the last writes, including a rotated refresh token.
//
// The scripts touch several keys: on Redis Cluster, make them share a hash
// slot with a hash tag in the prefix, such as prefix={connector}: .
//
// # Keys
//
// store.Open refuses to open a redis location without
// CONNECTOR_ENCRYPTION_KEY (store.RequireKeyring), before connecting: every
// instance must seal with the same key.
//
// store.OpenExisting writes nothing (no open does): a prefix under which no
// connection is stored (P ids is absent) is store.ErrNoStore, so that a
// mistyped prefix is not taken for an empty store.
//
// # Logging
//
// The store logs nothing: it returns errors. go-redis logs on its own,
// through one logger for the whole process that prints to stderr, so the
// first Open routes that logger nowhere (a program that wants go-redis's
// lines may call redis.SetLogger after it). New leaves it as it is.
package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/connector-go/connector/driver"
	"github.com/connector-go/connector/store"
)

func init() {
	store.Register("redis", func(ctx context.Context, location string, o store.OpenOptions) (store.Store, error) {
		s, err := open(ctx, location, o)
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}

// DefaultPrefix starts every key when the location names no prefix.
const DefaultPrefix = "connector:"

// Store is a store.Store in Redis.
type Store struct {
	client    goredis.UniversalClient
	ownClient bool
	prefix    string
	ids, due  string // the keys P ids and P due, made once
}

func newStore(client goredis.UniversalClient, ownClient bool, prefix string) *Store {
	return &Store{client: client, ownClient: ownClient, prefix: prefix, ids: prefix + "ids", due: prefix + "due"}
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.DueLister = (*Store)(nil)
)

// Location is a parsed OAuthSettingsLocation of this backend.
type Location struct {
	// URL is the location for go-redis's ParseURL, without the connector's
	// parameters.
	URL string
	// Prefix starts every key.
	Prefix   string
	password string
}

// String returns the location with its password replaced by xxxxx.
func (l Location) String() string {
	return fmt.Sprintf("redis location %s, prefix %q", store.ScrubPassword(l.URL, l.password), l.Prefix)
}

// GoString is String, so that %#v prints no password either.
func (l Location) GoString() string { return l.String() }

// refused are parameters of the connector's other backends.
var refused = map[string]string{
	"schema":       "prefix",
	"table_prefix": "prefix",
	"key_prefix":   "prefix",
}

// ParseLocation parses a redis:// or rediss:// location. Errors are
// InvalidConfig and never hold the password.
func ParseLocation(location string) (*Location, error) {
	b, err := store.ParseBackendURL(location, "redis", []string{"redis", "rediss"}, "prefix", refused)
	if err != nil {
		return nil, err
	}
	loc := &Location{Prefix: DefaultPrefix, password: b.Password}
	if b.Values != nil {
		if len(b.Values) != 1 || b.Values[0] == "" || len(b.Values[0]) > 200 {
			return nil, invalid("redis store location: prefix must be given once, 1 to 200 bytes")
		}
		loc.Prefix = b.Values[0]
	}
	loc.URL = b.URL.String()
	return loc, nil
}

func invalid(format string, args ...any) error {
	return &driver.Error{Code: driver.InvalidConfig, Op: "store", Msg: fmt.Sprintf(format, args...)}
}

// Open opens the store at a redis:// or rediss:// location. It pings the
// server, and writes nothing. store.Open gives the store its Keyring
// (CONNECTOR_ENCRYPTION_KEY, required); store.OpenExisting opens only a
// store that is there.
func Open(ctx context.Context, location string) (*Store, error) {
	return open(ctx, location, store.OpenOptions{})
}

// open opens the store at location as o asks. With o.Existing
// (store.OpenExisting), a prefix under which no connection is stored (the
// index P ids is absent) is store.ErrNoStore.
func open(ctx context.Context, location string, o store.OpenOptions) (*Store, error) {
	silenceGoRedis()
	loc, err := ParseLocation(location)
	if err != nil {
		return nil, err
	}
	opts, err := goredis.ParseURL(loc.URL)
	if err != nil {
		return nil, invalid("redis store location: %s", store.ScrubPassword(err.Error(), loc.password))
	}
	client := goredis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, store.Errorf(scrub(err, loc.password), "cannot connect to the redis store at %s", opts.Addr)
	}
	s := newStore(client, true, loc.Prefix)
	if o.Existing {
		n, err := client.Exists(ctx, s.idsKey()).Result()
		if err == nil && n == 0 {
			err = store.Errorf(store.ErrNoStore, "no redis store under prefix %q at %s", loc.Prefix, opts.Addr)
		} else if err != nil {
			err = store.Errorf(scrub(err, loc.password), "cannot read the redis store at %s", opts.Addr)
		}
		if err != nil {
			client.Close()
			return nil, err
		}
	}
	return s, nil
}

// silenceOnce makes silenceGoRedis act once, so that a program that installs
// its own logger with redis.SetLogger after the first Open keeps it.
var silenceOnce sync.Once

// silenceGoRedis routes go-redis's own log lines nowhere. go-redis logs
// through one process-wide logger that prints to stderr: during an outage
// its pool prints several lines ("connection pool: failed to dial after 5
// attempts: …") ahead of the error this store returns, which the CLI
// prints as its one line. Every failure it logs also reaches the store as
// an error, so nothing is lost. The store is given no logger to route the
// lines to, and the logger is global: Open, which makes its client from a
// location, silences it; New leaves it alone, since a caller who brings
// its own client chooses how go-redis logs.
func silenceGoRedis() {
	silenceOnce.Do(func() { goredis.SetLogger(discard{}) })
}

// discard is a go-redis logger that writes nothing.
type discard struct{}

// Printf implements go-redis's logger interface.
func (discard) Printf(context.Context, string, ...any) {}

// New returns a Store on a client the caller owns (Close leaves it open),
// under prefix (DefaultPrefix if empty).
func New(client goredis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return newStore(client, false, prefix)
}

// Prefix returns the prefix of the store's keys.
func (s *Store) Prefix() string { return s.prefix }

func (s *Store) connKey(id string) string   { return s.prefix + "conn:" + id }
func (s *Store) leaseKey(id string) string  { return s.prefix + "lease:" + id }
func (s *Store) fenceKey(id string) string  { return s.prefix + "fence:" + id }
func (s *Store) idsKey() string             { return s.ids }
func (s *Store) dueKey() string             { return s.due }
func (s *Store) indexedKey() string         { return s.prefix + "due:indexed" }
func (s *Store) claimKey(key string) string { return s.prefix + "claim:" + key }

// data is the JSON of a record's plain fields.
type data struct {
	Provider string    `json:"provider"`
	Account  string    `json:"account"`
	Scopes   []string  `json:"scopes"`
	Status   string    `json:"status"`
	Reason   string    `json:"reason"`
	Expiry   time.Time `json:"expiry"`
}

// putScript writes a record if its version and fence allow, and enters it
// in the due index (or takes it out); given a lease key, it then releases
// that lease if it is still the one of the fence (PutUnlock): when the
// counter is the fence, no lease was granted since, so the lease key, which
// Lock sets only while it is absent, is that lease or gone.
// KEYS: conn, fence, ids, due[, lease]. ARGV: version, fence, data, secret,
// id, app, namespace, ref, tags, due score (Unix µs; "" when the record is
// not Active or has no expiry).
// It returns {status, a, b}: {"ok", created, updated} with the new version
// in the hash, or {"exists"|"missing"|"version"|"fenced", detail}.
var putScript = goredis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'version', 'created', 'updated')
local cur = h[1]
local want = tonumber(ARGV[1])
if want == 0 then
  if cur then return {'exists', cur} end
else
  if not cur then return {'missing', ''} end
  if tonumber(cur) ~= want then return {'version', cur} end
end
local fence = tonumber(ARGV[2])
local granted = 0
if fence > 0 then
  granted = tonumber(redis.call('GET', KEYS[2]) or '0')
  if granted > fence then return {'fenced', string.format('%.0f', granted)} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local created = now
if cur then
  created = tonumber(h[2])
  local updated = tonumber(h[3])
  if now <= updated then now = updated + 1 end
end
local c, u, v = string.format('%.0f', created), string.format('%.0f', now), string.format('%.0f', want + 1)
redis.call('HSET', KEYS[1], 'version', v, 'data', ARGV[3], 'secret', ARGV[4], 'created', c, 'updated', u,
  'app', ARGV[6], 'namespace', ARGV[7], 'ref', ARGV[8], 'tags', ARGV[9])
-- The id enters P ids only when the hash is created. While the hash exists
-- (cur) its id is already there, scored 0, so ZADD would change nothing:
-- every writer, this code and the earlier code alike, adds the id in the
-- script that creates the hash, and Delete takes it out only in the script
-- that deletes the hash; nothing else touches P ids.
if not cur then redis.call('ZADD', KEYS[3], 0, ARGV[5]) end
if ARGV[10] == '' then
  redis.call('ZREM', KEYS[4], ARGV[5])
else
  redis.call('ZADD', KEYS[4], ARGV[10], ARGV[5])
end
-- No lease was granted after this fence (granted == fence): the lease
-- key, if any, is this one, since each Lock sets it only while absent.
if KEYS[5] and fence > 0 and granted == fence then redis.call('DEL', KEYS[5]) end
return {'ok', v}
`)

// indexScript enters one hash in the due index as Reindex read it, if its
// data field still holds the bytes Reindex read, and takes out an id whose
// hash is gone (Reindex, and Due for an entry whose hash it found gone).
//
// The score is a function of the data field alone (its status and
// expiry: dueScore of what parseRecord reads from it), so while the field
// holds the bytes it was computed from, the score is the one the hash
// calls for, whichever writer wrote the hash and however often it was
// written, deleted or created again since: a Put running at the same time
// entered the same score, or changed the field, and then this script
// leaves the index as that Put left it. A check of the version alone would
// not do: Delete and a new Put start the version at 1 again, so the
// version read could match a hash that is not the one read, and the entry
// of the new record would be overwritten with the old one's score.
// KEYS: conn, due. ARGV: data read ("" when no hash was read), due score
// ("" for none), id.
// Returns 1 when the index was changed or confirmed, 0 when the hash is not
// the one read (its data differ, or it was created after a read found none).
var indexScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[3])
  return 1
end
if ARGV[1] == '' or redis.call('HGET', KEYS[1], 'data') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[2], ARGV[3])
else
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
end
return 1
`)

// recordFields are the fields of a record's hash, in the order in which
// HMGET asks for them, in Get, List, Due and lockScript, and parseRecord
// reads them.
var recordFields = [nFields]string{fVersion: "version", fData: "data", fSecret: "secret", fCreated: "created",
	fUpdated: "updated", fApp: "app", fNamespace: "namespace", fRef: "ref", fTags: "tags"}

// Positions in recordFields.
const (
	fVersion = iota
	fData
	fSecret
	fCreated
	fUpdated
	fApp
	fNamespace
	fRef
	fTags
	nFields
)

// hmgetArgs is HMGET of recordFields, without its key (boxed once, here).
var hmgetArgs = func() []any {
	args := []any{"hmget", nil}
	for _, f := range recordFields {
		args = append(args, f)
	}
	return args
}()

// luaFields is recordFields as the arguments of a call in Lua.
var luaFields = "'" + strings.Join(recordFields[:], "', '") + "'"

// lockScript takes the lease with SET NX PX, its value its fence, one above
// the counter, and then INCRs the counter to that fence; either way it
// returns the record's fields.
// KEYS: lease, fence, conn. ARGV: ttl ms. Returns {fence or "", then the
// values of recordFields as HMGET gives them}: "" while another holder's
// lease lasts. HMGET gives an absent field as false, not nil, so the table
// keeps every position (Lua would cut a table at a nil); Redis answers
// false as a null, which go-redis reads as nil (parseRecord takes any
// value that is not a string, a RESP3 false included, for absent).
var lockScript = goredis.NewScript(`
local f = tonumber(redis.call('GET', KEYS[2]) or '0') + 1
local fs = string.format('%.0f', f)
if redis.call('SET', KEYS[1], fs, 'NX', 'PX', ARGV[1]) then
  redis.call('INCR', KEYS[2])
else
  fs = ''
end
local h = redis.call('HMGET', KEYS[3], ` + luaFields + `)
table.insert(h, 1, fs)
return h
`)

// unlockScript deletes the lease if it still holds ARGV[1] (its fence).
var unlockScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// deleteScript removes the record, its lease and its index entries.
// KEYS: conn, lease, ids, due. ARGV: id. Returns 1, or 0 if there was no record.
var deleteScript = goredis.NewScript(`
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
`)

// dueScore is a record's score in the due index: its expiry in Unix µs
// (exact in a double until the year 2255), or "" when it is not due-able.
func dueScore(r *store.Record) string {
	if r.Status != store.Active || r.Expiry.IsZero() {
		return ""
	}
	return strconv.FormatInt(r.Expiry.UnixMicro(), 10)
}

// doer is a client or a pipeline.
type doer interface {
	Do(ctx context.Context, args ...any) *goredis.Cmd
}

// hmget returns HMGET of the record fields of key.
func hmget(ctx context.Context, c doer, key string) *goredis.Cmd {
	args := append(make([]any, 0, len(hmgetArgs)), hmgetArgs...)
	args[1] = key
	return c.Do(ctx, args...)
}

// parseRecord makes the record of id from the values of recordFields, in
// their order, as HMGET gives them: a string, or nil (or false) for an
// absent field. It returns nil when every field is absent: there is no
// hash (Redis keeps no empty hash). app, namespace, ref and tags are absent
// from hashes written before them: "" and nil.
func parseRecord(id string, v []any) (*store.Record, error) {
	if len(v) != nFields {
		return nil, fmt.Errorf("connection %q: unexpected answer of %d fields", id, len(v))
	}
	var h [nFields]string
	found := false
	for i, x := range v {
		if x, ok := x.(string); ok {
			h[i], found = x, true
		}
	}
	if !found {
		return nil, nil
	}
	var d data
	if err := json.Unmarshal([]byte(h[fData]), &d); err != nil {
		return nil, fmt.Errorf("connection %q: %w", id, err)
	}
	version, err := number(h[fVersion])
	if err != nil {
		return nil, fmt.Errorf("connection %q: version: %w", id, err)
	}
	created, err1 := number(h[fCreated])
	updated, err2 := number(h[fUpdated])
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("connection %q: timestamps: %w", id, err)
	}
	var tags []string
	// Put writes no tags as "[]", which reads as nil: no need to decode it.
	if t := h[fTags]; t != "" && t != "[]" {
		if err := json.Unmarshal([]byte(t), &tags); err != nil {
			return nil, fmt.Errorf("connection %q: tags: %w", id, err)
		}
		if len(tags) == 0 {
			tags = nil
		}
	}
	r := &store.Record{
		ID: id, Provider: d.Provider, App: h[fApp], Namespace: h[fNamespace], Ref: h[fRef], Tags: tags,
		Account: d.Account, Scopes: d.Scopes, Status: store.Status(d.Status),
		Reason: d.Reason, Secret: []byte(h[fSecret]), Version: version,
		CreatedAt: time.UnixMicro(created).UTC(), UpdatedAt: time.UnixMicro(updated).UTC(),
	}
	if !d.Expiry.IsZero() {
		r.Expiry = d.Expiry
	}
	return r, nil
}

// number parses a number field of a hash. strconv's error quotes the
// field whole; a field that someone else wrote may be of any length, so
// one longer than any int64 is refused by its length alone.
func number(v string) (int64, error) {
	if len(v) > 20 {
		return 0, fmt.Errorf("%d bytes, not a number", len(v))
	}
	return strconv.ParseInt(v, 10, 64)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id string) (*store.Record, error) {
	v, err := hmget(ctx, s.client, s.connKey(id)).Slice()
	if err != nil {
		return nil, store.Errorf(err, "cannot read connection %q", id)
	}
	r, err := parseRecord(id, v)
	if err != nil {
		return nil, store.Errorf(err, "cannot read connection %q", id)
	}
	if r == nil {
		return nil, store.Errorf(store.ErrNotFound, "connection %q", id)
	}
	return r, nil
}

// List implements store.Store. It reads the index, then each record; a
// record deleted meanwhile is left out.
func (s *Store) List(ctx context.Context) ([]*store.Record, error) {
	ids, err := s.client.ZRange(ctx, s.idsKey(), 0, -1).Result()
	if err != nil {
		return nil, store.Errorf(err, "cannot list connections")
	}
	recs, err := s.read(ctx, ids)
	if err != nil {
		return nil, store.Errorf(err, "cannot list connections")
	}
	out := make([]*store.Record, 0, len(recs))
	for _, r := range recs {
		if r != nil {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Put implements store.Store: one script.
func (s *Store) Put(ctx context.Context, rec *store.Record, fence int64) (int64, error) {
	return s.put(ctx, rec, fence, false)
}

// PutUnlock implements store.Store: Put's script, which then releases the
// lease if the write was made.
func (s *Store) PutUnlock(ctx context.Context, rec *store.Record, l *store.Lease) (int64, error) {
	return s.put(ctx, rec, l.Fence, true)
}

func (s *Store) put(ctx context.Context, rec *store.Record, fence int64, unlock bool) (int64, error) {
	d, err := json.Marshal(data{Provider: rec.Provider, Account: rec.Account, Scopes: rec.Scopes,
		Status: string(rec.Status), Reason: rec.Reason, Expiry: rec.Expiry})
	if err != nil {
		return 0, store.Errorf(err, "cannot encode connection %q", rec.ID)
	}
	// No tags (nil or empty) is "[]", as json.Marshal would write it.
	var t any = "[]"
	if len(rec.Tags) > 0 {
		if t, err = json.Marshal(rec.Tags); err != nil {
			return 0, store.Errorf(err, "cannot encode the tags of connection %q", rec.ID)
		}
	}
	keys := make([]string, 4, 5)
	keys[0], keys[1], keys[2], keys[3] = s.connKey(rec.ID), s.fenceKey(rec.ID), s.idsKey(), s.dueKey()
	if unlock {
		keys = append(keys, s.leaseKey(rec.ID))
	}
	res, err := putScript.Run(ctx, s.client, keys,
		rec.Version, fence, d, rec.Secret, rec.ID, rec.App, rec.Namespace, rec.Ref, t, dueScore(rec)).StringSlice()
	if err != nil {
		return 0, store.Errorf(err, "cannot write connection %q", rec.ID)
	}
	if len(res) != 2 {
		return 0, store.Errorf(nil, "cannot write connection %q: unexpected answer %q", rec.ID, res)
	}
	switch res[0] {
	case "ok":
		v, err := strconv.ParseInt(res[1], 10, 64)
		if err != nil {
			return 0, store.Errorf(err, "cannot write connection %q", rec.ID)
		}
		return v, nil
	case "exists":
		return 0, conflict(rec.ID, "it already exists")
	case "missing":
		return 0, conflict(rec.ID, "it does not exist")
	case "version":
		return 0, conflict(rec.ID, fmt.Sprintf("version %d was expected, the store has %s", rec.Version, res[1]))
	case "fenced":
		return 0, conflict(rec.ID, fmt.Sprintf("lease fence %d was overtaken by fence %s (fenced)", fence, res[1]))
	}
	return 0, store.Errorf(nil, "cannot write connection %q: unexpected answer %q", rec.ID, res)
}

func conflict(id, why string) error {
	return store.Errorf(store.ErrConflict, "write to connection %q refused: %s", id, why)
}

// Due implements store.DueLister: ZRANGE BYSCORE on the due index, then
// the hashes, of which it keeps those that are due (see "The due index").
// On a store without the marker P due:indexed (hashes written before the
// index, or the marker deleted), it runs Reindex first.
func (s *Store) Due(ctx context.Context, before time.Time, limit int) ([]*store.Record, error) {
	if err := s.ensureIndexed(ctx); err != nil {
		return nil, err
	}
	stop := before.UnixMicro()
	if time.UnixMicro(stop).After(before) {
		stop-- // before is earlier than a whole µs: floor, not truncation
	}
	out := []*store.Record{}
	for offset := int64(0); ; {
		args := goredis.ZRangeArgs{Key: s.dueKey(), ByScore: true, Start: "-inf", Stop: strconv.FormatInt(stop, 10)}
		if limit > 0 {
			args.Offset, args.Count = offset, int64(limit)
		}
		ids, err := s.client.ZRangeArgs(ctx, args).Result()
		if err != nil {
			return nil, store.Errorf(err, "cannot list the due connections")
		}
		recs, err := s.read(ctx, ids)
		if err != nil {
			return nil, store.Errorf(err, "cannot list the due connections")
		}
		removed := 0
		for i, r := range recs {
			switch {
			case r == nil: // deleted by code that knew no index
				// 0: the hash was created again meanwhile, and its entry
				// stays where it was.
				n, err := indexScript.Run(ctx, s.client, []string{s.connKey(ids[i]), s.dueKey()}, "", "", ids[i]).Int()
				if err == nil && n == 1 {
					removed++
				}
			case store.IsDue(r, before):
				out = append(out, r)
			}
		}
		if limit <= 0 || len(out) >= limit || len(ids) < limit {
			break
		}
		// Stale entries were skipped: read on, past those still there.
		offset += int64(len(ids) - removed)
	}
	slices.SortStableFunc(out, store.CompareDue)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// read returns the records of ids, nil for one that is gone.
func (s *Store) read(ctx context.Context, ids []string) ([]*store.Record, error) {
	hs, err := s.hashes(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*store.Record, len(ids))
	for i, id := range ids {
		if out[i], err = parseRecord(id, hs[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// hashes returns the values of recordFields of the hashes of ids, as HMGET
// gives them, in one pipeline.
func (s *Store) hashes(ctx context.Context, ids []string) ([][]any, error) {
	cmds := make([]*goredis.Cmd, len(ids))
	if len(ids) > 0 {
		if _, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = hmget(ctx, p, s.connKey(id))
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	out := make([][]any, len(ids))
	for i := range ids {
		v, err := cmds[i].Slice()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// ensureIndexed runs Reindex unless the store's marker P due:indexed is
// there. It reads the marker on every call (one EXISTS per Due, that is
// per sweep of the scheduler) and remembers nothing: an operator who
// deletes the marker has the next Due of any instance, including those
// already running, index the store again.
func (s *Store) ensureIndexed(ctx context.Context) error {
	n, err := s.client.Exists(ctx, s.indexedKey()).Result()
	if err != nil {
		return store.Errorf(err, "cannot read the due index")
	}
	if n == 1 {
		return nil
	}
	return s.Reindex(ctx)
}

// reindexBatch is how many hashes Reindex reads and enters per round trip.
const reindexBatch = 500

// Reindex enters every record in the due index as its hash says, then sets
// the marker P due:indexed. Due runs it by itself on a store without the
// marker (one whose hashes were written by code that knew no index, or
// whose marker was deleted); run it again after instances of such code
// have written (a rolling upgrade). Each entry is made under a check that
// the hash's data field still holds the bytes read, from which its score
// was computed, so a Put running at the same time, which keeps the index
// itself, is never undone, even one that re-creates a deleted connection
// (at version 1 again); running it on many instances at once is safe.
func (s *Store) Reindex(ctx context.Context) error {
	fail := func(err error) error { return store.Errorf(err, "cannot index the due connections") }
	ids, err := s.client.ZRange(ctx, s.idsKey(), 0, -1).Result()
	if err != nil {
		return fail(err)
	}
	if err := indexScript.Load(ctx, s.client).Err(); err != nil {
		return fail(err)
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), reindexBatch)]
		ids = ids[len(batch):]
		hs, err := s.hashes(ctx, batch)
		if err != nil {
			return fail(err)
		}
		// data is the data field read ("" for no hash), score the score it
		// calls for.
		data, score := make([]string, len(batch)), make([]string, len(batch))
		for i, h := range hs {
			r, err := parseRecord(batch[i], h)
			if err != nil {
				return fail(err)
			}
			if r != nil {
				// parseRecord decoded the field, so it is a non-empty string.
				data[i], _ = h[fData].(string)
				score[i] = dueScore(r)
			}
		}
		if _, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, id := range batch {
				indexScript.EvalSha(ctx, p, []string{s.connKey(id), s.dueKey()}, data[i], score[i], id)
			}
			return nil
		}); err != nil {
			return fail(err)
		}
	}
	if err := s.client.Set(ctx, s.indexedKey(), "1", 0).Err(); err != nil {
		return fail(err)
	}
	return nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	n, err := deleteScript.Run(ctx, s.client, []string{s.connKey(id), s.leaseKey(id), s.idsKey(), s.dueKey()}, id).Int()
	if err != nil {
		return store.Errorf(err, "cannot delete connection %q", id)
	}
	if n == 0 {
		return store.Errorf(store.ErrNotFound, "connection %q", id)
	}
	return nil
}

// Lock implements store.Store: one script takes the lease and reads the
// record. The lease's expiry is Redis's PX, to the millisecond.
func (s *Store) Lock(ctx context.Context, id string, ttl time.Duration) (*store.Lease, *store.Record, error) {
	ms := ttl.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	res, err := lockScript.Run(ctx, s.client, []string{s.leaseKey(id), s.fenceKey(id), s.connKey(id)}, ms).Slice()
	if err != nil {
		return nil, nil, store.Errorf(err, "cannot take the lease of connection %q", id)
	}
	var fs string
	ok := len(res) == 1+nFields
	if ok {
		fs, ok = res[0].(string)
	}
	if !ok {
		return nil, nil, store.Errorf(nil, "cannot take the lease of connection %q: unexpected answer", id)
	}
	rec, err := parseRecord(id, res[1:])
	if err != nil {
		return nil, nil, store.Errorf(err, "cannot read connection %q", id)
	}
	if fs == "" {
		return nil, rec, store.Errorf(store.ErrLocked, "connection %q", id)
	}
	fence, err := strconv.ParseInt(fs, 10, 64)
	if err != nil {
		return nil, nil, store.Errorf(err, "cannot take the lease of connection %q", id)
	}
	return &store.Lease{ID: id, Fence: fence}, rec, nil
}

// Unlock implements store.Store.
func (s *Store) Unlock(ctx context.Context, l *store.Lease) error {
	err := unlockScript.Run(ctx, s.client, []string{s.leaseKey(l.ID)}, strconv.FormatInt(l.Fence, 10)).Err()
	if err != nil {
		return store.Errorf(err, "cannot release the lease of connection %q", l.ID)
	}
	return nil
}

// Claim implements store.Store: SET NX PX, so the claim expires by
// Redis's own clock, to the millisecond, and nothing needs cleaning.
func (s *Store) Claim(ctx context.Context, key string, ttl time.Duration) error {
	ms := ttl.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	err := s.client.SetArgs(ctx, s.claimKey(key), "1", goredis.SetArgs{Mode: "NX", TTL: time.Duration(ms) * time.Millisecond}).Err()
	if errors.Is(err, goredis.Nil) {
		return store.Errorf(store.ErrClaimed, "key %q", key)
	}
	if err != nil {
		return store.Errorf(err, "cannot claim %q", key)
	}
	return nil
}

// Close implements store.Store. It closes the client if Open made it.
func (s *Store) Close() error {
	if s.ownClient {
		return s.client.Close()
	}
	return nil
}

// scrub returns err, or a copy of its message without secret if it held it.
// The original is dropped, not wrapped: its message would hold the secret.
func scrub(err error, secret string) error {
	if err == nil {
		return nil
	}
	if msg := store.ScrubPassword(err.Error(), secret); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}
