package connector

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/connector-go/connector/store"
)

// Authorization states are signed, not remembered: a state carries when it
// was issued, how long it lives and a random nonce, and is signed with the
// Keyring (store.Keyring.Sign) over the provider and the redirect URI it was
// issued for. Every instance that shares the store and its keys can check a
// callback, whichever instance issued the state. A state is one-time: the
// first callback that presents it claims its nonce in the store, for as long
// as the state lives (store.Claimer.Claim, or store.Store.TryLock on a store
// without Claim); a second callback finds it claimed.
//
// Layout before base64url: version(1) | issued Unix seconds(8) | lifetime
// seconds(4) | nonce(16) | signature(16, truncated HMAC-SHA256).
const (
	stateVersion = 1
	stateBody    = 1 + 8 + 4 + 16
	stateSigLen  = 16
)

// stateMsg is what a state's signature covers: the provider, the redirect
// URI and the state's body.
func (c *Connector) stateMsg(body []byte) []byte {
	msg := make([]byte, 0, 64+len(c.opts.RedirectURL))
	msg = append(msg, "connector/state/v1\x00"...)
	msg = append(msg, c.name...)
	msg = append(msg, 0)
	msg = append(msg, c.opts.RedirectURL...)
	msg = append(msg, 0)
	return append(msg, body...)
}

// issueState returns a fresh state for this provider and redirect URI.
func (c *Connector) issueState(now time.Time) string {
	b := make([]byte, stateBody, stateBody+stateSigLen)
	b[0] = stateVersion
	binary.BigEndian.PutUint64(b[1:], uint64(now.Unix()))
	binary.BigEndian.PutUint32(b[9:], uint32(c.opts.StateTTL/time.Second))
	if _, err := rand.Read(b[13:stateBody]); err != nil {
		panic("connector: crypto/rand failed: " + err.Error())
	}
	b = append(b, c.keys.Sign(c.stateMsg(b))[:stateSigLen]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// takeState checks state and consumes it. why says, without echoing the
// state, why it is refused; err is a store failure.
func (c *Connector) takeState(ctx context.Context, state string) (issued time.Time, why string, err error) {
	if state == "" {
		return issued, "the callback carries no state", nil
	}
	b, derr := base64.RawURLEncoding.DecodeString(state)
	if derr != nil || len(b) != stateBody+stateSigLen || b[0] != stateVersion {
		return issued, "unknown state", nil
	}
	body, sig := b[:stateBody], b[stateBody:]
	if !c.keys.Verify(c.stateMsg(body), sig) {
		return issued, "unknown state, or one issued for another provider or redirect URI", nil
	}
	issued = time.Unix(int64(binary.BigEndian.Uint64(b[1:])), 0)
	ttl := time.Duration(binary.BigEndian.Uint32(b[9:])) * time.Second
	now := c.now()
	if now.After(issued.Add(ttl)) {
		return issued, "state expired", nil
	}
	nonce := base64.RawURLEncoding.EncodeToString(b[13:stateBody])
	// A store that can record a one-time claim (store.Claimer) removes it
	// once expired; TryLock, the fallback, leaves a lease behind per state.
	key, hold := "state:"+nonce, issued.Add(ttl).Sub(now)+time.Minute
	var lerr error
	if cl, ok := c.store.(store.Claimer); ok {
		lerr = cl.Claim(ctx, key, hold)
	} else {
		_, lerr = c.store.TryLock(ctx, key, hold)
	}
	if lerr != nil {
		if CodeOf(lerr) == CodeConflict {
			return issued, "state already used", nil
		}
		return issued, "", c.storeErr("callback", lerr)
	}
	return issued, "", nil
}
