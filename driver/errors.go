package driver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Code classifies an Error. Callers branch on the Code (through
// CodeOf or errors.As), never on the message.
type Code int

// The codes. Their String forms are stable and appear in messages and logs.
const (
	// Unknown is the code of an error that carries no Code.
	Unknown Code = iota
	// InvalidConfig: a connection string, option or endpoint is wrong. Not retried.
	InvalidConfig
	// UnknownProvider: no driver is registered under the name.
	UnknownProvider
	// InvalidScope: a requested scope is not one the provider knows.
	InvalidScope
	// InvalidState: the callback's state is missing, unknown, reused, expired or
	// bound to another provider or redirect URI. The token endpoint was not called.
	InvalidState
	// AccessDenied: the user (or the provider) refused the authorization.
	AccessDenied
	// AuthorizationRequired: there is no usable grant and the mode forbids, or the
	// library cannot run, an interactive authorization.
	AuthorizationRequired
	// ReauthRequired: the provider rejected the grant (RFC 6749 invalid_grant on a
	// refresh, or a revoked connection); the connection is marked needs_reauth
	// and a user must authorize again.
	ReauthRequired
	// InvalidGrant: the provider rejected an authorization code (expired, used,
	// or redirect_uri mismatch). Start a new authorization.
	InvalidGrant
	// InvalidClient: the provider rejected the client credentials. Not retried.
	InvalidClient
	// Unavailable: the provider did not answer usefully within the retry budget
	// (429, 5xx, refused or reset connections, timeouts before the request was sent).
	Unavailable
	// BadResponse: the provider answered with something that is not a usable token
	// response: HTML, malformed JSON, an error inside a 200, no access_token, a
	// token type other than bearer. Nothing was persisted.
	BadResponse
	// RefreshUncertain: a refresh request was sent but no answer arrived; the
	// provider may have rotated the refresh token.
	RefreshUncertain
	// Store: the token store failed. When it failed after a rotation, the new token
	// is kept in memory and its write is retried.
	Store
	// NotFound: no such connection.
	NotFound
	// Conflict: a compare-and-swap write lost to a newer version.
	Conflict
	// Unsupported: the provider does not offer the operation (revocation, say).
	Unsupported
	// ProviderError: any other error the provider reported.
	ProviderError
	// Internal: a bug or an impossible state inside the connector.
	Internal
	// Canceled: the caller's context was cancelled or its deadline passed
	// before the operation completed; errors.Is(err, context.Canceled) (or
	// context.DeadlineExceeded) holds. A rotated token is never lost to it:
	// a refresh already sent is persisted or kept pending as usual.
	Canceled
)

var codeNames = [...]string{
	Unknown:               "unknown",
	InvalidConfig:         "invalid_config",
	UnknownProvider:       "unknown_provider",
	InvalidScope:          "invalid_scope",
	InvalidState:          "invalid_state",
	AccessDenied:          "access_denied",
	AuthorizationRequired: "authorization_required",
	ReauthRequired:        "reauth_required",
	InvalidGrant:          "invalid_grant",
	InvalidClient:         "invalid_client",
	Unavailable:           "unavailable",
	BadResponse:           "bad_response",
	RefreshUncertain:      "refresh_uncertain",
	Store:                 "store",
	NotFound:              "not_found",
	Conflict:              "conflict",
	Unsupported:           "unsupported",
	ProviderError:         "provider_error",
	Internal:              "internal",
	Canceled:              "canceled",
}

// String returns the code's stable snake_case name.
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", int(c))
}

// Error is the one error type of the module. Its contract:
//
//   - Every error that a function of this module returns holds an *Error in
//     its chain, so CodeOf(err) is never Unknown for it: a request through
//     connector.Connection.Client fails with net/http's *url.Error wrapping
//     one; Connection.Flush joins the store's *Error with ctx.Err().
//   - The Code is what callers branch on (CodeOf, or errors.Is with an
//     *Error of that Code); Op, Msg and the answer's fields describe, for
//     people and logs. The text is not an API.
//   - The message never holds a secret: an answer's body is reduced to a
//     short, redacted Excerpt, and provider text is scrubbed (Scrub).
//   - The code that builds an Error fills it in before returning it (a
//     driver may adjust one that a helper of this package gave it); an
//     Error that has been returned is never changed by anyone.
type Error struct {
	Code     Code   // the class of the error
	Op       string // what was being done: "exchange", "refresh", "revoke", "parse", ...
	Provider string // the driver name, when known

	// Set when the provider answered.
	Status           int    // HTTP status
	ContentType      string // the answer's Content-Type
	OAuthError       string // the RFC 6749 §5.2 error field
	OAuthDescription string // error_description, truncated and redacted
	Excerpt          string // at most a short, redacted excerpt of the body

	Msg string // a lower-case message without secrets
	Err error  // the underlying error, if any
}

// Error formats the error as "connector: provider op: msg (details): cause".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("connector: ")
	if e.Provider != "" {
		b.WriteString(e.Provider)
		b.WriteByte(' ')
	}
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Msg != "" {
		b.WriteString(e.Msg)
	} else {
		b.WriteString(e.Code.String())
	}
	var details []string
	if e.Status != 0 {
		details = append(details, fmt.Sprintf("status %d", e.Status))
	}
	if e.ContentType != "" {
		details = append(details, "content-type "+printable(e.ContentType))
	}
	if e.OAuthError != "" {
		details = append(details, "error "+printable(e.OAuthError))
	}
	if e.OAuthDescription != "" {
		details = append(details, fmt.Sprintf("description %q", e.OAuthDescription))
	}
	if e.Excerpt != "" {
		details = append(details, fmt.Sprintf("body %q", e.Excerpt))
	}
	if len(details) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(details, ", "))
		b.WriteByte(')')
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// printable returns s as it is when every character of it is printable
// (strconv.IsPrint), else quoted: provider text such as an error field or a
// Content-Type could hold terminal escapes or bidirectional controls.
func printable(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether an error in the underlying chain is a timeout
// (has a Timeout method that reports true, as a net.Error's), so that a
// *url.Error around an *Error answers Timeout as it would around the
// timeout itself.
func (e *Error) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}

// Is reports whether target is an *Error with the same Code, whatever its
// other fields: errors.Is(err, &driver.Error{Code: driver.NotFound}) holds
// for every error of that Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an *Error with the code and a formatted message. Never format
// a secret into it.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Code of the first *Error in err's chain, or Unknown.
// A nil error has Code Unknown.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Unknown
}

// ExcerptLimit is the most bytes of a response body an Error carries.
const ExcerptLimit = 120

// Excerpt returns at most ExcerptLimit bytes of body, on one line, with every
// value that looks like a credential replaced by "[redacted]": the values of
// JSON or form fields whose name contains token, secret, code, password or
// authorization, and any run of 20 or more token characters. An excerpt that
// leaves out the end of body ends in "…", so that Scrub can tell where a
// secret may have been cut in two.
func Excerpt(body []byte) string {
	s := string(body)
	windowed := len(s) > 4*ExcerptLimit // the end of body is left out
	if windowed {
		// A run of token characters cut in two is judged whole: its head
		// alone could be too short to be recognised as a credential.
		cut, start, end := 4*ExcerptLimit, 4*ExcerptLimit, 4*ExcerptLimit
		for start > 0 && isTokenByte(s[start-1]) {
			start--
		}
		for end < len(s) && isTokenByte(s[end]) {
			end++
		}
		if start < cut && cut < end && end-start >= 20 && strings.ContainsAny(s[start:end], "0123456789") {
			s = s[:start] + "[redacted]"
		} else {
			s = s[:cut]
		}
	}
	s = redactFields(s)
	s = redactLongRuns(s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > ExcerptLimit {
		cut := ExcerptLimit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	} else if windowed {
		s += "…"
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	return s
}

var sensitiveNames = []string{"token", "secret", "code", "password", "authorization", "assertion"}

// redactFields replaces the value after `"name":` or `name=` for sensitive names.
func redactFields(s string) string {
	lower := asciiLower(s)
	var b strings.Builder
	i := 0
	for i < len(s) {
		j := nextSensitive(lower, i)
		if j < 0 {
			break
		}
		// find the separator after the name
		k := j
		for k < len(s) && (isWordByte(s[k]) || s[k] == '"') {
			k++
		}
		sep := false // a name is followed by a value only after ':' or '='
		for k < len(s) && (s[k] == ' ' || s[k] == ':' || s[k] == '=') {
			sep = sep || s[k] != ' '
			k++
		}
		if k == j || k >= len(s) || !sep {
			b.WriteString(s[i:k])
			i = k
			continue
		}
		b.WriteString(s[i:k])
		// value: quoted string or bare word
		end := k
		if s[k] == '"' {
			end = k + 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end < len(s) {
				end++
			}
			if end > len(s) {
				end = len(s)
			}
		} else {
			end = wordEnd(s, k)
			// "Authorization: Bearer <token>": the scheme is not the secret.
			if w := s[k:end]; end+1 < len(s) && s[end] == ' ' && (strings.EqualFold(w, "bearer") || strings.EqualFold(w, "basic")) {
				end = wordEnd(s, end+1)
			}
		}
		if end > k {
			b.WriteString("[redacted]")
		}
		i = end
	}
	b.WriteString(s[i:])
	return b.String()
}

// asciiLower lowers ASCII letters only, so that byte offsets in the result
// are those in s (strings.ToLower changes lengths: invalid UTF-8 becomes
// U+FFFD, the Kelvin sign becomes 'k').
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// wordEnd returns the end of the bare value that starts at k.
func wordEnd(s string, k int) int {
	for k < len(s) && s[k] != '&' && s[k] != ',' && s[k] != '}' && s[k] != ' ' && s[k] != '\n' {
		k++
	}
	return k
}

func nextSensitive(lower string, from int) int {
	best := -1
	for _, n := range sensitiveNames {
		if j := strings.Index(lower[from:], n); j >= 0 && (best < 0 || from+j < best) {
			best = from + j
		}
	}
	return best
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isTokenByte reports whether c may appear in a token: letters, digits and
// '-', '_', '.', '~', '+', '/', '='.
func isTokenByte(c byte) bool {
	return isWordByte(c) || c == '.' || c == '~' || c == '+' || c == '/' || c == '='
}

// redactLongRuns replaces runs of 20 or more token characters (letters, digits,
// '-', '_', '.', '~', '+', '/', '=') that contain a digit.
func redactLongRuns(s string) string {
	var b strings.Builder
	run := 0
	start := 0
	digit := false
	flush := func(end int) {
		if run >= 20 && digit {
			b.WriteString("[redacted]")
		} else {
			b.WriteString(s[start:end])
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isTokenByte(c) {
			if run == 0 {
				start = i
				digit = false
			}
			run++
			if c >= '0' && c <= '9' {
				digit = true
			}
			continue
		}
		if run > 0 {
			flush(i)
			run = 0
		}
		b.WriteByte(c)
	}
	if run > 0 {
		flush(len(s))
	}
	return b.String()
}
