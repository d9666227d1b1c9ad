package simulator

import (
	"context"
	"net/http"
	"strings"
)

type grantKey struct{}

// Handle registers an API route protected by a Bearer access token. pattern
// is an http.ServeMux pattern whose path starts with /api/, such as
// "GET /api/v1/store/info.json". h runs only for a valid access token and
// receives what it grants; the first use of an access token revokes the
// refresh token it replaced (Doorkeeper's revoke_previous_refresh_token!).
//
// Before h, every request under /api/ is counted, passed to Config.APIHook,
// refused with 400 when Config.RequireUserAgent and it has no User-Agent (Go's
// default "Go-http-client/…" counts as none: it is what a driver that forgot
// the header sends), and refused as Doorkeeper's doorkeeper_authorize!
// refuses (lib/doorkeeper/rails/helpers.rb) when its token is missing,
// unknown, expired or revoked: 401 with an empty body and
// WWW-Authenticate: Bearer realm="Doorkeeper", error="invalid_token",
// error_description="The access token is invalid" (or "… expired", "… was
// revoked"; lib/doorkeeper/oauth/invalid_token_response.rb). Unregistered
// paths answer 404 after that.
func (s *Server) Handle(pattern string, h func(w http.ResponseWriter, r *http.Request, g Grant)) {
	path := pattern
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		path = strings.TrimSpace(pattern[i+1:])
	}
	if !strings.HasPrefix(path, APIPrefix) {
		panic("simulator: Handle pattern " + pattern + " is not under " + APIPrefix)
	}
	s.api.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		g, _ := r.Context().Value(grantKey{}).(Grant)
		h(w, r, g)
	})
}

// serveAPI authenticates a request under /api/ and routes it.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if hook := s.cfg.APIHook; hook != nil && !hook(w, r, s.now()) {
		return
	}
	if ua := r.Header.Get("User-Agent"); s.cfg.RequireUserAgent && (ua == "" || strings.HasPrefix(ua, "Go-http-client/")) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "the User-Agent header is required"})
		return
	}
	_, g, why := s.useAccess(bearer(r))
	if why != "" {
		s.invalidToken(w, why)
		return
	}
	s.api.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), grantKey{}, g)))
}
