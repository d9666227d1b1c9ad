package connector

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// maxStates bounds the authorization states one Connector keeps, so that
// a flood of unfinished authorizations cannot grow memory without limit.
const maxStates = 10000

// states holds the one-time authorization states a Connector issued. A
// state is bound to the provider and redirect URI it was issued for, expires
// after Options.StateTTL, and is consumed by the first callback that
// presents it, whatever the outcome.
type states struct {
	mu sync.Mutex
	m  map[string]stateEntry
}

type stateEntry struct {
	provider string
	redirect string
	issued   time.Time
	expires  time.Time
}

// newState returns 256 random bits, URL-safe.
func newState() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("connector: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *states) issue(provider, redirect string, now time.Time, ttl time.Duration) string {
	st := newState()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]stateEntry{}
	}
	if len(s.m) >= maxStates {
		// Sweep expired states; if the map is still full (a flood of
		// unfinished authorizations), drop arbitrary ones: their users
		// start again.
		for k, e := range s.m {
			if now.After(e.expires) {
				delete(s.m, k)
			}
		}
		for k := range s.m {
			if len(s.m) < maxStates*3/4 {
				break
			}
			delete(s.m, k)
		}
	}
	s.m[st] = stateEntry{provider: provider, redirect: redirect, issued: now, expires: now.Add(ttl)}
	return st
}

// take consumes state and checks it. The returned message says why a state
// is refused, without echoing it.
func (s *states) take(state, provider, redirect string, now time.Time) (stateEntry, string) {
	if state == "" {
		return stateEntry{}, "the callback carries no state"
	}
	s.mu.Lock()
	e, ok := s.m[state]
	delete(s.m, state)
	s.mu.Unlock()
	switch {
	case !ok:
		return e, "unknown or already used state"
	case now.After(e.expires):
		return e, "state expired"
	case e.provider != provider:
		return e, "state was issued for another provider"
	case e.redirect != redirect:
		return e, "state was issued for another redirect URI"
	}
	return e, ""
}
