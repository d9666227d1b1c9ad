package jumpseller

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/connector-go/connector/simulator"
)

// SimulatorStore is the store the simulator's merchant grants: its code is
// the connection's account.
var SimulatorStore = StoreInfo{
	Name:     "Sandbox Store",
	Code:     "sandbox-store",
	Currency: "EUR",
	Country:  "PT",
	Email:    "owner@sandbox-store.example",
}

// StoreInfo is the store object of GET /v1/store/info.json.
type StoreInfo struct {
	Name     string `json:"name"`
	Code     string `json:"code"`
	Currency string `json:"currency"`
	Country  string `json:"country"`
	Email    string `json:"email"`
}

// The API's documented limits, per IP and store.
const (
	perMinuteLimit = 800
	perSecondLimit = 20
)

// NewSimulator returns a simulator of Jumpseller: form token bodies (also
// multipart, as curl -F sends), token_type "bearer", one-hour access tokens,
// no scope in answers, the documented scope list, the out-of-band redirect
// URI, and GET /api/v1/store/info.json answering SimulatorStore. Every API
// answer carries the rate-limit headers; the simulator counts requests but
// does not refuse them (inject a 429 Fault for that). No client is
// registered: call AddClient.
func NewSimulator() *simulator.Server {
	rl := &rateCounter{}
	s := simulator.New(simulator.Config{
		Name:        spec.Name,
		DisplayName: spec.DisplayName,
		TokenFormat: spec.Token.Format,
		TokenType:   "bearer",
		AccessTTL:   spec.DefaultLifetime,
		CodeTTL:     600 * time.Second, // Doorkeeper's default; Jumpseller documents none
		Scopes:      spec.Scopes,
		AccountID:   SimulatorStore.Code,
		APIHook:     rl.hook,
	})
	s.Handle("GET /api/v1/store/info.json", func(w http.ResponseWriter, r *http.Request, g simulator.Grant) {
		st := SimulatorStore
		st.Code = g.AccountID
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]StoreInfo{"store": st})
	})
	return s
}

// NewSimulator returns NewSimulator().
func (provider) NewSimulator() http.Handler { return NewSimulator() }

// rateCounter counts API requests per second and per minute of the
// simulator's clock, for the rate-limit headers.
type rateCounter struct {
	mu          sync.Mutex
	sec, min    int64
	nSec, nMinu int
}

func (c *rateCounter) hook(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	c.mu.Lock()
	if s := now.Unix(); s != c.sec {
		c.sec, c.nSec = s, 0
	}
	if m := now.Unix() / 60; m != c.min {
		c.min, c.nMinu = m, 0
	}
	c.nSec++
	c.nMinu++
	remSec, remMin := max(perSecondLimit-c.nSec, 0), max(perMinuteLimit-c.nMinu, 0)
	c.mu.Unlock()
	h := w.Header()
	h.Set("Jumpseller-PerMinuteRateLimit-Limit", strconv.Itoa(perMinuteLimit))
	h.Set("Jumpseller-PerMinuteRateLimit-Remaining", strconv.Itoa(remMin))
	h.Set("Jumpseller-PerSecondRateLimit-Limit", strconv.Itoa(perSecondLimit))
	h.Set("Jumpseller-PerSecondRateLimit-Remaining", strconv.Itoa(remSec))
	return true
}
