package driver_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/driver"
)

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  *driver.Error
		want string
	}{
		{
			name: "code only",
			err:  &driver.Error{Code: driver.NotFound},
			want: "connector: not_found",
		},
		{
			name: "op and code",
			err:  &driver.Error{Code: driver.BadResponse, Op: "parse"},
			want: "connector: parse: bad_response",
		},
		{
			name: "provider and code",
			err:  &driver.Error{Code: driver.InvalidClient, Provider: "shopline"},
			want: "connector: shopline invalid_client",
		},
		{
			name: "provider, op and message",
			err:  &driver.Error{Code: driver.ReauthRequired, Op: "refresh", Provider: "jumpseller", Msg: "no refresh token is stored"},
			want: "connector: jumpseller refresh: no refresh token is stored",
		},
		{
			name: "message replaces the code name",
			err:  &driver.Error{Code: driver.Conflict, Msg: "version 3 is not 2"},
			want: "connector: version 3 is not 2",
		},
		{
			name: "status only",
			err:  &driver.Error{Code: driver.Unavailable, Status: 503},
			want: "connector: unavailable (status 503)",
		},
		{
			name: "content type only",
			err:  &driver.Error{Code: driver.BadResponse, ContentType: "text/html"},
			want: "connector: bad_response (content-type text/html)",
		},
		{
			name: "oauth error only",
			err:  &driver.Error{Code: driver.InvalidGrant, OAuthError: "invalid_grant"},
			want: "connector: invalid_grant (error invalid_grant)",
		},
		{
			name: "oauth error with a terminal escape is quoted",
			err:  &driver.Error{Code: driver.ProviderError, OAuthError: "\x1b[2J\u202eoops"},
			want: `connector: provider_error (error "\x1b[2J\u202eoops")`,
		},
		{
			name: "content type with a control character is quoted",
			err:  &driver.Error{Code: driver.BadResponse, ContentType: "text/html\x00"},
			want: `connector: bad_response (content-type "text/html\x00")`,
		},
		{
			name: "description is quoted",
			err:  &driver.Error{Code: driver.InvalidGrant, OAuthDescription: `the "code" expired`},
			want: `connector: invalid_grant (description "the \"code\" expired")`,
		},
		{
			name: "excerpt is quoted",
			err:  &driver.Error{Code: driver.BadResponse, Excerpt: "<html>\tx"},
			want: `connector: bad_response (body "<html>\tx")`,
		},
		{
			name: "every detail, in order",
			err: &driver.Error{
				Code: driver.InvalidGrant, Op: "refresh", Provider: "jumpseller", Msg: "provider refused the request",
				Status: 401, ContentType: "application/json; charset=utf-8", OAuthError: "invalid_grant",
				OAuthDescription: "The provided authorization grant is invalid", Excerpt: `{"error":"invalid_grant"}`,
			},
			want: `connector: jumpseller refresh: provider refused the request (status 401, content-type application/json; charset=utf-8, ` +
				`error invalid_grant, description "The provided authorization grant is invalid", body "{\"error\":\"invalid_grant\"}")`,
		},
		{
			name: "cause only",
			err:  &driver.Error{Code: driver.Unavailable, Err: io.ErrUnexpectedEOF},
			want: "connector: unavailable: unexpected EOF",
		},
		{
			name: "details and cause",
			err:  &driver.Error{Code: driver.RefreshUncertain, Op: "refresh", Status: 502, Msg: "answer cut off", Err: io.ErrUnexpectedEOF},
			want: "connector: refresh: answer cut off (status 502): unexpected EOF",
		},
		{
			name: "wrapped *Error as cause",
			err:  &driver.Error{Code: driver.Store, Op: "save", Err: &driver.Error{Code: driver.Conflict, Op: "put"}},
			want: "connector: save: store: connector: put: conflict",
		},
		{
			name: "Errorf",
			err:  driver.Errorf(driver.InvalidScope, "unknown scope %q", "read_x"),
			want: `connector: unknown scope "read_x"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("Error() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCodeOf(t *testing.T) {
	base := &driver.Error{Code: driver.InvalidGrant, Op: "refresh"}
	tests := []struct {
		name string
		err  error
		want driver.Code
	}{
		{"nil", nil, driver.Unknown},
		{"plain error", errors.New("boom"), driver.Unknown},
		{"*Error", base, driver.InvalidGrant},
		{"wrapped once", fmt.Errorf("refreshing: %w", base), driver.InvalidGrant},
		{"wrapped twice", fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", base)), driver.InvalidGrant},
		{"wrapped with %v loses the code", fmt.Errorf("refreshing: %v", base), driver.Unknown},
		{"joined", errors.Join(errors.New("first"), base), driver.InvalidGrant},
		{"outer *Error wins", &driver.Error{Code: driver.Store, Err: base}, driver.Store},
		{"*Error behind a plain wrapper inside an *Error", &driver.Error{Code: driver.Unavailable, Err: fmt.Errorf("x: %w", base)}, driver.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, driver.CodeOf(tt.err)); diff != "" {
				t.Errorf("CodeOf(%v) mismatch (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}

func TestErrorIs(t *testing.T) {
	err := &driver.Error{Code: driver.NotFound, Op: "get", Provider: "jumpseller", Msg: "no connection abc"}
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same code", err, &driver.Error{Code: driver.NotFound}, true},
		{"same code through %w", fmt.Errorf("loading: %w", err), &driver.Error{Code: driver.NotFound}, true},
		{"same code through two wraps", fmt.Errorf("a: %w", fmt.Errorf("b: %w", err)), &driver.Error{Code: driver.NotFound}, true},
		{"other code", err, &driver.Error{Code: driver.Conflict}, false},
		{"a target's other fields do not matter", err, &driver.Error{Code: driver.NotFound, Op: "put", Msg: "something else"}, true},
		{"a target's other fields do not make another code match", err, &driver.Error{Code: driver.Conflict, Op: "get", Msg: "no connection abc"}, false},
		{"plain error target", err, errors.New("connector: get: no connection abc"), false},
		{"code found in the cause", &driver.Error{Code: driver.Store, Err: err}, &driver.Error{Code: driver.NotFound}, true},
		{"plain error never matches", errors.New("x"), &driver.Error{Code: driver.Unknown}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestErrorUnwrap(t *testing.T) {
	e := &driver.Error{Code: driver.Unavailable, Err: io.EOF}
	if !errors.Is(e, io.EOF) {
		t.Errorf("errors.Is(%v, io.EOF) = false, want true", e)
	}
	var target *driver.Error
	if !errors.As(fmt.Errorf("x: %w", e), &target) || target != e {
		t.Errorf("errors.As did not find the *Error")
	}
}

// TestErrorTimeout: an *Error is a timeout when its chain holds one, so
// that the *url.Error a Client returns around it answers Timeout too.
func TestErrorTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"no cause", nil, false},
		{"another cause", io.EOF, false},
		{"a deadline", os.ErrDeadlineExceeded, true},
		{"a context's deadline", context.DeadlineExceeded, true},
		{"a canceled context", context.Canceled, false},
		{"a wrapped deadline", fmt.Errorf("read: %w", os.ErrDeadlineExceeded), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &driver.Error{Code: driver.Unavailable, Err: tc.err}
			if got := e.Timeout(); got != tc.want {
				t.Errorf("Timeout() = %v, want %v", got, tc.want)
			}
			ue := &url.Error{Op: "Get", URL: "https://api.example.com/v1/", Err: e}
			if got := ue.Timeout(); got != tc.want {
				t.Errorf("(*url.Error).Timeout() around it = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCodeString(t *testing.T) {
	tests := []struct {
		code driver.Code
		want string
	}{
		{driver.Unknown, "unknown"},
		{driver.InvalidConfig, "invalid_config"},
		{driver.UnknownProvider, "unknown_provider"},
		{driver.InvalidScope, "invalid_scope"},
		{driver.InvalidState, "invalid_state"},
		{driver.AccessDenied, "access_denied"},
		{driver.AuthorizationRequired, "authorization_required"},
		{driver.ReauthRequired, "reauth_required"},
		{driver.InvalidGrant, "invalid_grant"},
		{driver.InvalidClient, "invalid_client"},
		{driver.Unavailable, "unavailable"},
		{driver.BadResponse, "bad_response"},
		{driver.RefreshUncertain, "refresh_uncertain"},
		{driver.Store, "store"},
		{driver.NotFound, "not_found"},
		{driver.Conflict, "conflict"},
		{driver.Unsupported, "unsupported"},
		{driver.ProviderError, "provider_error"},
		{driver.Internal, "internal"},
		{driver.Canceled, "canceled"},
		{driver.Canceled + 1, "code(20)"},
		{driver.Code(-1), "code(-1)"},
		{driver.Code(1000), "code(1000)"},
	}
	seen := map[string]driver.Code{}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := tt.code.String()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Code(%d).String() mismatch (-want +got):\n%s", int(tt.code), diff)
			}
			if prev, dup := seen[got]; dup {
				t.Errorf("Code(%d) and Code(%d) share the name %q", int(prev), int(tt.code), got)
			}
			seen[got] = tt.code
		})
	}
}

func TestExcerpt(t *testing.T) {
	const (
		jsToken = "80de978742714f8747036188cf6bab538e976adf72144d545e185ae444bc473d"
		jwt     = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJkZTNjOWJkOGU3MGQwNWYzOTk2Mjc0Mjc2NzYwYWFkNiJ9.lEsz0R_VOBwKwLmI9x5X4MDlzeVX3ptY4jtLXsqX2eM"
	)
	nginx502 := "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
		"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
	railsPage := "<!DOCTYPE html>\n<html>\n<head>\n  <title>We're sorry, but something went wrong (500)</title>\n" +
		"  <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n  <style>\n  body { background-color: #EFEFEF; }\n" +
		strings.Repeat("  .rails-default-error-page div.dialog { width: 95%; }\n", 20) + "</style>\n</head>\n<body></body>\n</html>\n"
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", ""},
		{"short text unchanged", "Service Unavailable", "Service Unavailable"},
		{"whitespace collapsed", "  <p>\n\tBad\r\n   gateway </p>\n\n", "<p> Bad gateway </p>"},
		{"unicode spaces collapsed", "a\u00a0\u2028b\u0085c\u3000d", "a b c d"},
		{"exactly the limit", strings.Repeat("a", 120), strings.Repeat("a", 120)},
		{"one over the limit", strings.Repeat("a", 121), strings.Repeat("a", 120) + "…"},
		{"cut after whitespace collapsing", strings.Repeat("ab  ", 50), strings.Repeat("ab ", 40) + "…"},
		{"collapsed below the limit", strings.Repeat("ab  ", 40), strings.TrimSpace(strings.Repeat("ab ", 40))},
		{"two-byte rune on the boundary", strings.Repeat("a", 119) + "é" + "bbb", strings.Repeat("a", 119) + "…"},
		{"two-byte runes aligned", strings.Repeat("é", 100), strings.Repeat("é", 60) + "…"},
		{"three-byte rune on the boundary", "a" + strings.Repeat("€", 50), "a" + strings.Repeat("€", 39) + "…"},
		{"four-byte rune on the boundary", "ab" + strings.Repeat("😀", 40), "ab" + strings.Repeat("😀", 29) + "…"},

		{"json access_token", `{"access_token":"abc","expires_in":3600}`, `{"access_token":[redacted],"expires_in":3600}`},
		{"json access_token with spaces", `{ "access_token" : "abc" }`, `{ "access_token" : [redacted] }`},
		{"json token_type is a token field too", `{"access_token":"abc","token_type":"bearer"}`, `{"access_token":[redacted],"token_type":[redacted]}`},
		{"json refresh_token", `{"refresh_token": "r-1", "expires_in": 3600}`, `{"refresh_token": [redacted], "expires_in": 3600}`},
		{"json client_secret", `{"client_id":"app","client_secret":"s3cr3t"}`, `{"client_id":"app","client_secret":[redacted]}`},
		{"json code", `{"code":"RateLimitExceeded","error":"Rate limit exceeded"}`, `{"code":[redacted],"error":"Rate limit exceeded"}`},
		{"json name case-insensitive", `{"Access_Token":"abc"}`, `{"Access_Token":[redacted]}`},
		{"json escaped quote inside the value", `{"access_token":"a\"b,c","x":1}`, `{"access_token":[redacted],"x":1}`},
		{"json unterminated value", `{"access_token":"abc`, `{"access_token":[redacted]`},
		{"json numeric value", `{"code":12345,"x":1}`, `{"code":[redacted],"x":1}`},
		{"json empty value", `{"access_token":"","x":1}`, `{"access_token":[redacted],"x":1}`},
		{"json password", `{"password":"hunter2"}`, `{"password":[redacted]}`},
		{"json assertion", `{"assertion":"eyJ"}`, `{"assertion":[redacted]}`},
		{"json error fields kept", `{"error":"invalid_grant","error_description":"Rate limit exceeded"}`,
			`{"error":"invalid_grant","error_description":"Rate limit exceeded"}`},
		{"prose after a sensitive name is kept", `{"error_description":"The provided authorization grant is invalid"}`,
			`{"error_description":"The provided authorization grant is invalid"}`},

		{"form refresh_token", "refresh_token=abc&x=1", "refresh_token=[redacted]&x=1"},
		{"form code and client_secret", "grant_type=authorization_code&code=SplxlOBeZQ&client_secret=s3&redirect_uri=x",
			"grant_type=authorization_code&code=[redacted]&client_secret=[redacted]&redirect_uri=x"},
		{"form value at the end", "x=1&access_token=abc", "x=1&access_token=[redacted]"},
		{"form name without value at the end", "x=1&token=", "x=1&token="},
		{"name without separator kept", "no tokens.", "no tokens."},
		{"name inside a longer word kept", "grant_type=authorization_code&x=1", "grant_type=authorization_code&x=1"},
		{"bare word after a name and a space is prose", "token expired", "token expired"},
		{"header line with scheme", "Authorization: Basic abc", "Authorization: [redacted]"},
		{"bearer header line", "Authorization: Bearer abc def", "Authorization: [redacted] def"},

		{"long hex run", "invalid value " + jsToken + " end", "invalid value [redacted] end"},
		{"JWT with dots", "bad " + jwt, "bad [redacted]"},
		{"base64 with + / =", "x aB3+/aB3+/aB3+/aB3+/== y", "x [redacted] y"},
		{"19 characters with a digit kept", "x abcdefghijklmnopq1r y", "x abcdefghijklmnopq1r y"},
		{"20 characters with a digit redacted", "x abcdefghijklmnopq1rs y", "x [redacted] y"},
		{"long run without a digit kept", "x abcdefghijklmnopqrstuvwxyz y", "x abcdefghijklmnopqrstuvwxyz y"},
		{"documented jumpseller answer", `{"access_token":"` + jsToken + `","token_type":"bearer","expires_in":3600,"refresh_token":"` + jsToken + `","created_at":1502473092}`,
			`{"access_token":[redacted],"token_type":[redacted],"expires_in":3600,"refresh_token":[redacted],"created_at":1502473092}`},

		{"nginx 502 page", nginx502,
			"<html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad Gateway</h1></center> <hr><center>nginx/1.…"},
		{"long rails page cut", railsPage,
			`<!DOCTYPE html> <html> <head> <title>We're sorry, but something went wrong (500)</title> <meta name="viewport" content="…`},

		{"invalid UTF-8 replaced", "bad \xff\xfe body", "bad ? body"},
		{"invalid UTF-8 leading", "\xffabc", "?abc"},
		{"truncated rune at the end", "abc\xe2\x82", "abc?"},
		{"invalid UTF-8 before a form field", "\xff\xff\xff\xff token=abc", "? token=[redacted]"},
		{"invalid UTF-8 before a json field", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff " + `{"access_token":"abc"}`, `? {"access_token":[redacted]}`},
		{"Kelvin sign before a field", "\u212a\u212atoken=abc", "\u212a\u212atoken=[redacted]"},
		{"dotted capital I before a field", "\u0130\u0130\u0130 x token=abc", "\u0130\u0130\u0130 x token=[redacted]"},

		{"token run split by the 480-byte window", strings.Repeat(" ", 470) + "SECRET-0123456789abcdefXYZ", "[redacted]…"},
		{"digitless run split by the 480-byte window", strings.Repeat(" ", 470) + "abcdefghijklmnopqrstuvwxyz", "abcdefghij…"},
		{"long digitless body", strings.Repeat("x", 4000), strings.Repeat("x", 120) + "…"},
		{"token run ending on the 480-byte window", strings.Repeat(" ", 454) + "SECRET-0123456789abcdefXYZ", "[redacted]"},
		{"text split by the 480-byte window", strings.Repeat(" ", 470) + "see the status page", "see the st…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := driver.Excerpt([]byte(tt.in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Excerpt(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			checkExcerpt(t, got)
		})
	}
}

// checkExcerpt asserts what every Excerpt must be: short, one valid UTF-8
// line, with no run of 20 token characters holding a digit.
func checkExcerpt(t *testing.T, got string) {
	t.Helper()
	if len(got) > driver.ExcerptLimit+len("…") {
		t.Errorf("Excerpt is %d bytes, more than %d: %q", len(got), driver.ExcerptLimit+len("…"), got)
	}
	if !utf8.ValidString(got) {
		t.Errorf("Excerpt is not valid UTF-8: %q", got)
	}
	if strings.ContainsAny(got, "\n\r") {
		t.Errorf("Excerpt holds a line break: %q", got)
	}
	if run := longTokenRun(got); run != "" {
		t.Errorf("Excerpt %q keeps the credential-like run %q", got, run)
	}
}

// longTokenRun returns the first run of 20 or more token characters that
// holds a digit, or "".
func longTokenRun(s string) string {
	start, digit := -1, false
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isTokenByte(s[i]) {
			if start < 0 {
				start, digit = i, false
			}
			if s[i] >= '0' && s[i] <= '9' {
				digit = true
			}
			continue
		}
		if start >= 0 && i-start >= 20 && digit {
			return s[start:i]
		}
		start = -1
	}
	return ""
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~+/=", c) >= 0
}
