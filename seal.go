package connector

import (
	"encoding/json"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector/store"
)

// This file is how a token is sealed into a store record and opened again:
// JSON (the Token's json tags), encrypted by the store.Keyring.

// record returns a copy of base carrying tok and the grant's unused access
// tokens (see retire.go), sealed, with the given status.
func (c *Connector) record(base *store.Record, tok *Token, unused []string, st store.Status, reason string) (*store.Record, error) {
	rec := new(store.Record)
	*rec = *base // Secret and Scopes are replaced below, never shared
	buf := plainBufs.Get().(*[]byte)
	plain, err := appendTokenJSON((*buf)[:0], tok)
	if err == nil && len(unused) > 0 {
		// One more member beside the token's own: the sealed payload is
		// a sealedGrant.
		plain = plain[:len(plain)-1]
		plain = append(plain, `,"unused_access_tokens":[`...)
		for i, p := range unused {
			if i > 0 {
				plain = append(plain, ',')
			}
			plain = appendJSONString(plain, p)
		}
		plain = append(plain, "]}"...)
	}
	if err == nil {
		rec.Secret, err = c.keys.Seal(rec.ID, plain)
	} else {
		err = c.errorf(driver.Internal, "seal", "cannot encode token")
	}
	// The buffer is reused: leave no token in it, nor in a bigger one
	// that replaced it.
	clear((*buf)[:cap(*buf)])
	if cap(plain) > cap(*buf) {
		clear(plain)
		*buf = plain[:0]
	}
	plainBufs.Put(buf)
	if err != nil {
		return nil, err
	}
	rec.Provider = c.name
	if tok.AccountID != "" {
		rec.Account = tok.AccountID
	}
	rec.Scopes = append([]string(nil), tok.Scopes...)
	rec.Expiry = tok.Expiry
	rec.Status, rec.Reason = st, reason
	return rec, nil
}

// plainBufs holds the buffers tokens are encoded into before sealing; they
// are cleared after each use.
var plainBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// sealedGrant is what a record's Secret holds: the token, and the access
// tokens of rotations not yet known to be complete (retire.go).
type sealedGrant struct {
	Token
	Unused []string `json:"unused_access_tokens,omitempty"`
}

// open decrypts a record's token and the grant's unused access tokens.
func (c *Connector) open(rec *store.Record) (*Token, []string, error) {
	plain, err := c.keys.Open(rec.ID, rec.Secret)
	if err != nil {
		return nil, nil, err
	}
	var g sealedGrant
	if err := json.Unmarshal(plain, &g); err != nil {
		return nil, nil, c.errorf(driver.Store, "open", "stored token of %s is not valid JSON", rec.ID)
	}
	// A held connection keeps this token for as long as it lives: it is
	// copied out of g (which the unused tokens would otherwise keep alive
	// with it), and strings the record holds already are shared rather
	// than kept twice (docs/benchmarks.md, BenchmarkConnections).
	tok := g.Token
	if tok.TokenType == "Bearer" {
		tok.TokenType = "Bearer"
	}
	if tok.AccountID == rec.Account {
		tok.AccountID = rec.Account
	}
	if slices.Equal(tok.Scopes, rec.Scopes) && len(rec.Scopes) > 0 {
		tok.Scopes = slices.Clip(rec.Scopes)
	}
	return &tok, g.Unused, nil
}

// appendTokenJSON appends exactly what json.Marshal(tok) gives, without its
// reflection: a refresh seals one token, and its cost is measured against a
// bare POST (docs/benchmarks.md). Anything beyond plain ASCII text (escapes,
// HTML characters, non-ASCII) and the Extra map go through encoding/json.
// TestAppendTokenJSON and FuzzAppendTokenJSON hold it to json.Marshal.
func appendTokenJSON(b []byte, tok *Token) ([]byte, error) {
	b = append(b, `{"access_token":`...)
	b = appendJSONString(b, tok.AccessToken)
	b = append(b, `,"token_type":`...)
	b = appendJSONString(b, tok.TokenType)
	if tok.RefreshToken != "" {
		b = append(b, `,"refresh_token":`...)
		b = appendJSONString(b, tok.RefreshToken)
	}
	var err error
	if !tok.Expiry.IsZero() {
		b = append(b, `,"expiry":`...)
		if b, err = appendJSONTime(b, tok.Expiry); err != nil {
			return nil, err
		}
	}
	if !tok.IssuedAt.IsZero() {
		b = append(b, `,"issued_at":`...)
		if b, err = appendJSONTime(b, tok.IssuedAt); err != nil {
			return nil, err
		}
	}
	if len(tok.Scopes) > 0 {
		b = append(b, `,"scopes":[`...)
		for i, s := range tok.Scopes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	if tok.AccountID != "" {
		b = append(b, `,"account_id":`...)
		b = appendJSONString(b, tok.AccountID)
	}
	if len(tok.Extra) > 0 {
		extra, err := json.Marshal(tok.Extra)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"extra":`...)
		b = append(b, extra...)
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONTime appends t as time.Time's MarshalJSON writes it (RFC 3339
// with nanoseconds, quoted; an error for years outside 0–9999).
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}
