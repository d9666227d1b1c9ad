package connector

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/connector-go/connector/driver"

	"github.com/connector-go/connector/store"
)

// Authorization states are signed, not remembered: a state carries when it
// was issued, how long it lives, a random nonce and what the application
// attached to the authorization (its reference, tags and scopes), and is
// signed with the Keyring (store.Keyring.Sign) over the provider, the
// application (client id and namespace) and the redirect URI it was issued
// for. Every instance that shares the store and its keys can check a
// callback, whichever instance issued the state; a connector of another
// application or namespace refuses it. A state is one-time: the first
// callback that presents it claims its nonce in the store, for as long as
// the state lives (store.Store.Claim); a second callback finds it claimed.
//
// Layout before base64url: version(1) | issued Unix seconds(8) | lifetime
// seconds(4) | nonce(16) | request (see appendRequest) | signature(16,
// truncated HMAC-SHA256).
const (
	stateVersion = 2
	stateHead    = 1 + 8 + 4 + 16
	stateSigLen  = 16
	// stateMaxRequest bounds what an authorization may carry in its state:
	// the state travels in two URLs.
	stateMaxRequest = 1024
)

// stateMsg is what a state's signature covers: the provider, the
// application, the redirect URI and the state's body.
func (c *Connector) stateMsg(body []byte) []byte {
	msg := make([]byte, 0, 96+len(c.opts.RedirectURL)+len(body))
	msg = append(msg, "connector/state/v2\x00"...)
	for _, s := range []string{c.name, c.opts.ClientID, c.opts.Namespace, c.opts.RedirectURL} {
		msg = append(msg, s...)
		msg = append(msg, 0)
	}
	return append(msg, body...)
}

// authRequest is what one authorization carries in its state.
type authRequest struct {
	ref    string
	tags   []string
	scopes []string // nil: the connector's
}

// appendRequest encodes r as length-prefixed fields: ref, then the count
// and each of tags, then of scopes.
func appendRequest(b []byte, r authRequest) []byte {
	b = binary.AppendUvarint(b, uint64(len(r.ref)))
	b = append(b, r.ref...)
	for _, list := range [][]string{r.tags, r.scopes} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, s := range list {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

// readRequest decodes what appendRequest wrote; ok is false for anything
// else (the signature has been checked, so only a bug gets there).
func readRequest(b []byte) (r authRequest, ok bool) {
	str := func() (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", false
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, true
	}
	list := func() ([]string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		b = b[k:]
		var out []string
		for range n {
			s, ok := str()
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	if r.ref, ok = str(); !ok {
		return r, false
	}
	if r.tags, ok = list(); !ok {
		return r, false
	}
	if r.scopes, ok = list(); !ok {
		return r, false
	}
	return r, len(b) == 0
}

// issueState returns a fresh state for this provider, application and
// redirect URI, carrying r.
func (c *Connector) issueState(now time.Time, r authRequest) (string, error) {
	b := make([]byte, stateHead, stateHead+64)
	b[0] = stateVersion
	binary.BigEndian.PutUint64(b[1:], uint64(now.Unix()))
	binary.BigEndian.PutUint32(b[9:], uint32(c.opts.StateTTL/time.Second))
	if _, err := rand.Read(b[13:stateHead]); err != nil {
		panic("connector: crypto/rand failed: " + err.Error())
	}
	b = appendRequest(b, r)
	if len(b)-stateHead > stateMaxRequest {
		return "", c.errorf(driver.InvalidConfig, "authorize", "the reference, tags and scopes of one authorization take %d bytes; at most %d fit in its state", len(b)-stateHead, stateMaxRequest)
	}
	b = append(b, c.keys.Sign(c.stateMsg(b))[:stateSigLen]...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// takeState checks state and consumes it. why says, without echoing the
// state, why it is refused; err is a store failure.
func (c *Connector) takeState(ctx context.Context, state string) (issued time.Time, r authRequest, why string, err error) {
	if state == "" {
		return issued, r, "the callback carries no state", nil
	}
	// Strict, and no line breaks (which the decoder skips): only the
	// string issued is the state, not another spelling of its bytes.
	b, derr := base64.RawURLEncoding.Strict().DecodeString(state)
	if derr != nil || strings.ContainsAny(state, "\r\n") || len(b) < stateHead+stateSigLen || len(b) > stateHead+stateMaxRequest+stateSigLen || b[0] != stateVersion {
		return issued, r, "unknown state", nil
	}
	body, sig := b[:len(b)-stateSigLen], b[len(b)-stateSigLen:]
	if !c.keys.Verify(c.stateMsg(body), sig) {
		return issued, r, "unknown state, or one issued for another provider, application or redirect URI", nil
	}
	var ok bool
	if r, ok = readRequest(body[stateHead:]); !ok {
		return issued, authRequest{}, "unknown state", nil
	}
	issued = time.Unix(int64(binary.BigEndian.Uint64(b[1:])), 0)
	ttl := time.Duration(binary.BigEndian.Uint32(b[9:])) * time.Second
	now := c.now()
	if now.After(issued.Add(ttl)) {
		return issued, r, "state expired", nil
	}
	nonce := base64.RawURLEncoding.EncodeToString(b[13:stateHead])
	// The store removes the claim once expired.
	key, hold := "state:"+nonce, issued.Add(ttl).Sub(now)+time.Minute
	if lerr := c.store.Claim(ctx, key, hold); lerr != nil {
		if errors.Is(lerr, store.ErrClaimed) {
			return issued, r, "state already used", nil
		}
		return issued, r, "", c.storeErr("callback", lerr)
	}
	return issued, r, "", nil
}
