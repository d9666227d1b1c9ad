package simulator

import (
	"net/http"
	"strings"
	"time"
)

// Fault describes a misbehaviour for the next matching requests. Queue it
// with Server.InjectFault.
//
// Delay, Drop, Status and Body apply before the request is processed (the
// provider's state does not change); DropAfterProcessing, TokenType,
// OmitAccessToken, Set and PadBody apply after (a refresh rotates the tokens).
type Fault struct {
	// Path is the request path the fault applies to: "/oauth/token" (the
	// default), "/oauth/revoke", "/oauth/token/info", or, ending in "/", a
	// prefix such as "/api/".
	Path string
	// Grant limits a token-endpoint fault to one grant_type
	// ("refresh_token", "authorization_code"); "" matches any request.
	Grant string
	// Times is how many requests get the fault; 0 means 1.
	Times int

	// Status and Body answer the request verbatim, without processing it
	// (429, 503, an HTML page, malformed JSON, {"error":"server_error"}
	// in a 200, ...). Status 0 with a Body is 200.
	Status      int
	RetryAfter  string // Retry-After header value, verbatim
	ContentType string // default: application/json for a body starting with { or [, else text/html
	Body        string

	// Drop closes the connection without answering, before processing.
	Drop bool
	// DropAfterProcessing processes the request fully (a refresh rotates the
	// tokens) and then closes the connection without answering: the lost
	// answer.
	DropAfterProcessing bool
	// Delay waits before answering (or processing); a request whose context
	// ends first gets no answer.
	Delay time.Duration

	// TokenType replaces token_type in a successful token answer ("mac").
	TokenType string
	// OmitAccessToken drops access_token from a successful token answer.
	OmitAccessToken bool
	// Set sets fields of a successful token answer after it is built,
	// overwriting a field the answer has (in place) or adding one (at the
	// end, in key order). Each value is JSON-encoded as it is: a hostile
	// provider's answer such as {"resource_owner_id": "other-merchant"},
	// {"expires_in": 0} or {"access_token": "abc\r\nX-Injected: 1"}. The
	// simulator's own record keeps the tokens it issued: an access token
	// replaced here is one its API does not know. Set is applied after
	// TokenType and OmitAccessToken.
	Set map[string]any
	// PadBody appends this many bytes of whitespace to a successful token
	// answer (still valid JSON; 1<<20 exceeds the engine's limit).
	PadBody int
}

type queuedFault struct {
	f    Fault
	left int
}

func (f *Fault) matches(path, grant string) bool {
	p := f.Path
	if p == "" {
		p = TokenPath
	}
	if strings.HasSuffix(p, "/") {
		if !strings.HasPrefix(path, p) {
			return false
		}
	} else if path != p {
		return false
	}
	return f.Grant == "" || f.Grant == grant
}

// InjectFault queues f: the next f.Times requests that match it get the
// fault. Faults are matched in the order they were queued; a request gets at
// most one.
func (s *Server) InjectFault(f Fault) {
	n := f.Times
	if n <= 0 {
		n = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &queuedFault{f: f, left: n})
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// PendingFaults returns how many faulted requests are still queued.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.faults {
		n += q.left
	}
	return n
}

// takeFault returns the first queued fault matching the request, consuming
// one of its Times, or nil.
func (s *Server) takeFault(path, grant string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.faults {
		if !q.f.matches(path, grant) {
			continue
		}
		q.left--
		if q.left <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		f := q.f
		return &f
	}
	return nil
}

func (f *Fault) writeVerbatim(w http.ResponseWriter) {
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	ct := f.ContentType
	if ct == "" {
		if b := strings.TrimSpace(f.Body); strings.HasPrefix(b, "{") || strings.HasPrefix(b, "[") {
			ct = "application/json; charset=utf-8"
		} else {
			ct = "text/html; charset=utf-8"
		}
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	if f.RetryAfter != "" {
		h.Set("Retry-After", f.RetryAfter)
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(f.Body))
}

// drop closes the connection without an answer. Where the connection cannot
// be hijacked (HTTP/2), the handler aborts, which resets the stream.
func drop(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// discardWriter takes the answer of a request processed for
// DropAfterProcessing.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
