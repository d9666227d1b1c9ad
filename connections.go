package connector

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector/store"
)

// This file is where connections live: their ids, the application they
// belong to, finding, listing and deleting them.
//
// A connection belongs to the application that obtained it: its client id
// and, optionally, a namespace (Options.Namespace). Its id, the one users
// see and pass to Connection, is provider:account. In the store it is
// qualified by the application — namespace/client-id/provider:account,
// each of the first two path-escaped — so that connectors of different
// applications or namespaces sharing a store never see, list, refresh,
// lock or overwrite each other's connections: records, leases and the
// signed states all carry the application.
//
// Records written before applications were recorded have the bare id and
// no App; the first connector of the provider that loads one adopts it:
// the record is re-sealed under the qualified id (the id is part of the
// encryption's associated data) and the bare one deleted.

// appPrefix is the store-id prefix of an application's connections.
func appPrefix(namespace, clientID string) string {
	if namespace == "" && clientID == "" {
		return ""
	}
	return url.PathEscape(namespace) + "/" + url.PathEscape(clientID) + "/"
}

// key returns the store id of connection id.
func (c *Connector) key(id string) string { return c.prefix + id }

// idOf returns the connection id (provider:account) of a record.
func idOf(r *store.Record) string {
	return strings.TrimPrefix(r.ID, appPrefix(r.Namespace, r.App))
}

// ListConnections returns every connection in s, of every application and
// provider, sorted by application and id, without their secrets: a
// platform's admin page, or `connector connections`.
func ListConnections(ctx context.Context, s store.Store) ([]ConnectionInfo, error) {
	recs, err := s.List(ctx)
	if err != nil {
		return nil, &driver.Error{Code: driver.Store, Op: "list", Msg: "store failed", Err: err}
	}
	out := make([]ConnectionInfo, len(recs))
	for i, r := range recs {
		out[i] = infoOf(r)
	}
	slices.SortStableFunc(out, func(a, b ConnectionInfo) int {
		return strings.Compare(a.Namespace+"\x00"+a.App+"\x00"+a.ID, b.Namespace+"\x00"+b.App+"\x00"+b.ID)
	})
	return out, nil
}

// mine reports whether r is a connection of this connector's application
// and provider; legacy reports whether it is one written before
// applications were recorded, which this connector may adopt.
func (c *Connector) mine(r *store.Record) (mine, legacy bool) {
	if r.Provider != c.name {
		return false, false
	}
	if r.App == c.opts.ClientID && r.Namespace == c.opts.Namespace && strings.HasPrefix(r.ID, c.prefix) {
		return true, false
	}
	legacy = c.prefix != "" && r.App == "" && r.Namespace == "" && !strings.Contains(r.ID, "/")
	return legacy, legacy
}

// connectionID is provider:account, so that a re-authorization of the same
// account updates its connection; provider:manual when the account is unknown.
func (c *Connector) connectionID(tok *Token) string {
	acc := tok.AccountID
	if acc == "" {
		acc = "manual"
	}
	return c.name + ":" + acc
}

// get reads connection id's record, adopting a legacy record of the same
// id.
func (c *Connector) get(ctx context.Context, id string) (*store.Record, error) {
	rec, err := c.store.Get(ctx, c.key(id))
	if err == nil || !errors.Is(err, store.ErrNotFound) || c.prefix == "" {
		return rec, err
	}
	return c.adopt(ctx, id, err)
}

// adopt moves the legacy record id (if any) under this application, and
// returns it; notFound when there is none.
func (c *Connector) adopt(ctx context.Context, id string, notFound error) (*store.Record, error) {
	old, err := c.store.Get(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound
		}
		return nil, err
	}
	if _, legacy := c.mine(old); !legacy {
		return nil, notFound
	}
	tok, unused, err := c.open(old)
	if err != nil {
		return nil, err
	}
	base := old.Clone()
	base.ID, base.App, base.Namespace, base.Version = c.key(id), c.opts.ClientID, c.opts.Namespace, 0
	rec, err := c.record(base, tok, unused, old.Status, old.Reason)
	if err != nil {
		return nil, err
	}
	v, err := c.store.Put(ctx, rec, 0)
	switch {
	case err == nil:
		rec.Version = v
	case errors.Is(err, store.ErrConflict): // adopted meanwhile by another instance
		return c.store.Get(ctx, c.key(id))
	default:
		return nil, err
	}
	if err := c.store.Delete(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.warn(ctx, "adopted a connection written before applications were recorded, but could not delete its old record", "connection", id, "code", driver.CodeOf(err).String())
	}
	c.log(ctx, "adopted a connection written before applications were recorded", "connection", id)
	return rec, nil
}

// save writes tok as the active grant of its connection (creating it or
// replacing the grant), with the application's reference and tags, and
// returns the live Connection.
func (c *Connector) save(ctx context.Context, tok *Token, ar authRequest) (*Connection, error) {
	id := c.connectionID(tok)
	conn := c.connection(id)
	for attempt := 0; ; attempt++ {
		var base *store.Record
		cur, err := c.get(ctx, id)
		switch {
		case err == nil:
			base = cur
		case errors.Is(err, store.ErrNotFound):
			cur = nil
			base = &store.Record{ID: c.key(id), Provider: c.name, App: c.opts.ClientID, Namespace: c.opts.Namespace}
		default:
			return nil, c.storeErr("save", err)
		}
		if ar.ref != "" {
			base.Ref = ar.ref
		}
		if ar.tags != nil {
			base.Tags = ar.tags
		}
		rec, err := c.record(base, tok, nil, store.Active, "")
		if err != nil {
			return nil, err
		}
		v, err := c.store.Put(ctx, rec, 0)
		if err == nil {
			rec.Version = v
			conn.set(c.snapshotOf(rec, tok, nil))
			kind := Created
			if cur != nil {
				kind = Reauthorized
			}
			if c.opts.OnEvent != nil { // spares building the event
				c.emit(ctx, Event{Kind: kind, Connection: infoOf(rec)})
			}
			if cur != nil && cur.Status == store.Active {
				// A re-authorization starts a new grant at the provider;
				// the one it replaces would stay alive there.
				c.retireReplaced(ctx, cur)
			}
			return conn, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= 3 {
			return nil, c.storeErr("save", err)
		}
	}
}

// Connection returns the stored connection id (provider:account). Every
// call with the same id returns the same *Connection, so that its callers
// share one cached token and one refresh.
func (c *Connector) Connection(ctx context.Context, id string) (*Connection, error) {
	conn := c.connection(id)
	if conn.snap.Load() != nil {
		return conn, nil
	}
	if _, err := conn.load(ctx); err != nil {
		return nil, c.canceled(ctx, "load", err)
	}
	return conn, nil
}

func (c *Connector) connection(id string) *Connection {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn, ok := c.conns[id]
	if !ok {
		key := c.key(id)
		// id shares key's bytes, and keys the map.
		conn = &Connection{c: c, id: key[len(c.prefix):], key: key, flight: make(chan struct{}, 1)}
		c.conns[conn.id] = conn
	}
	return conn
}

// Filter selects connections in List. Its zero value selects every
// connection of the connector's application and provider.
type Filter struct {
	// Ref, when set, selects the connections with this reference.
	Ref string
	// Tag, when set, selects the connections carrying this tag.
	Tag string
	// Status, when set, selects the connections in this status.
	Status Status
	// AllProviders lists the application's connections of every provider
	// in the store, not only this connector's: an admin page's list.
	AllProviders bool
}

// List returns the stored connections that f selects, sorted by id,
// without their secrets.
func (c *Connector) List(ctx context.Context, f Filter) ([]ConnectionInfo, error) {
	recs, err := c.store.List(ctx)
	if err != nil {
		return nil, c.storeErr("list", err)
	}
	var out []ConnectionInfo
	seen := map[string]bool{}
	for _, r := range recs {
		ok, legacy := c.mine(r)
		if !ok && f.AllProviders {
			ok = r.App == c.opts.ClientID && r.Namespace == c.opts.Namespace
		}
		if !ok || f.Ref != "" && r.Ref != f.Ref || f.Tag != "" && !slices.Contains(r.Tags, f.Tag) || f.Status != "" && r.Status != f.Status {
			continue
		}
		info := infoOf(r)
		if legacy && seen[info.ID] {
			continue // adopted already; its old record awaits deletion
		}
		seen[info.ID] = true
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b ConnectionInfo) int { return strings.Compare(a.ID, b.ID) })
	// A legacy record sorted before its adopted copy: keep the copy.
	out = slices.CompactFunc(out, func(a, b ConnectionInfo) bool { return a.ID == b.ID })
	return out, nil
}

// Connections lists the stored connections of this connector's provider
// and application.
func (c *Connector) Connections(ctx context.Context) ([]ConnectionInfo, error) {
	return c.List(ctx, Filter{})
}

// ConnectionByRef returns the connection the application gave reference
// ref at authorization (AuthRequest.Ref): driver.NotFound when there is none,
// driver.Conflict, naming them, when several connections carry it.
func (c *Connector) ConnectionByRef(ctx context.Context, ref string) (*Connection, error) {
	if ref == "" {
		return nil, c.errorf(driver.InvalidConfig, "connect", "an empty reference names no connection")
	}
	list, err := c.List(ctx, Filter{Ref: ref})
	if err != nil {
		return nil, err
	}
	switch len(list) {
	case 0:
		return nil, c.errorf(driver.NotFound, "connect", "no %s connection has the reference %q", c.name, ref)
	case 1:
		return c.Connection(ctx, list[0].ID)
	}
	ids := make([]string, len(list))
	for i, l := range list {
		ids[i] = l.ID
	}
	return nil, c.errorf(driver.Conflict, "connect", "several %s connections have the reference %q: %s", c.name, ref, strings.Join(ids, ", "))
}

// Default returns the only stored connection of this provider. With none it
// fails with driver.AuthorizationRequired; with several, with
// driver.InvalidConfig (name one with Connection).
func (c *Connector) Default(ctx context.Context) (*Connection, error) {
	list, err := c.Connections(ctx)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 && c.supplied != nil {
		return c.Import(ctx, c.supplied)
	}
	switch len(list) {
	case 0:
		return nil, c.errorf(driver.AuthorizationRequired, "connect", "no stored connection for %s; authorize first", c.name)
	case 1:
		return c.Connection(ctx, list[0].ID)
	}
	ids := make([]string, len(list))
	for i, l := range list {
		ids[i] = l.ID
	}
	return nil, c.errorf(driver.InvalidConfig, "connect", "several connections for %s (%s); name one", c.name, strings.Join(ids, ", "))
}

// DeleteOptions tunes Connection.Delete.
type DeleteOptions struct {
	// Revoke revokes the grant at the provider first (as Revoke does); a
	// revocation that fails stops the deletion.
	Revoke bool
}

// Delete removes the connection from the store (its lease with it) and
// from every Connector of this process: a *Connection held elsewhere fails
// with driver.NotFound from then on. Other processes notice at their next
// read of the store. With o.Revoke the grant is revoked at the provider
// first.
func (conn *Connection) Delete(ctx context.Context, o DeleteOptions) error {
	c := conn.c
	if o.Revoke {
		if err := conn.Revoke(ctx); err != nil {
			return err
		}
	}
	if err := c.store.Delete(ctx, conn.key); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			forget(conn.key)
			return c.errorf(driver.NotFound, "delete", "no connection %s", conn.id)
		}
		return c.canceled(ctx, "delete", c.storeErr("delete", err))
	}
	info := conn.Info()
	forget(conn.key)
	c.log(ctx, "connection deleted", "connection", conn.id)
	c.emit(ctx, Event{Kind: Deleted, Connection: info})
	return nil
}

// live holds every open Connector of the process, so that Delete can drop
// a connection's cached state from all of them.
var live sync.Map // *Connector → struct{}

// forget drops the cached state of store id key from every open Connector.
func forget(key string) {
	live.Range(func(k, _ any) bool {
		c := k.(*Connector)
		c.mu.Lock()
		for id, conn := range c.conns {
			if conn.key == key {
				conn.snap.Store(nil)
				delete(c.conns, id)
			}
		}
		c.mu.Unlock()
		return true
	})
}
