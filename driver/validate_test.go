package driver_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/driver"
)

// validErr is what a test checks of a validation error.
type validErr struct {
	Code driver.Code
	Msg  string
}

func validErrOf(t *testing.T, err error) *validErr {
	t.Helper()
	w := errOf(t, err)
	if w == nil {
		return nil
	}
	return &validErr{Code: w.Code, Msg: w.Msg}
}

func TestValidateToken(t *testing.T) {
	const (
		b64      = "access_token is not an RFC 6750 b64token: "
		vschar   = "refresh_token is not RFC 6749 VSCHAR: "
		lifetime = "token lifetime ≤ 0: its expiry is not after the time it was issued"
	)
	bad := func(msg string) *validErr { return &validErr{Code: driver.BadResponse, Msg: msg} }
	good := func(mut func(*driver.Token)) *driver.Token {
		t := &driver.Token{AccessToken: jsAccess, TokenType: "Bearer", RefreshToken: jsRefresh, AccountID: "shop",
			IssuedAt: fixedNow, Expiry: fixedNow.Add(time.Hour)}
		if mut != nil {
			mut(t)
		}
		return t
	}
	tests := []struct {
		name string
		tok  *driver.Token
		want *validErr
	}{
		{name: "jumpseller documented token", tok: good(nil)},
		{name: "shopline documented token (a JWT)", tok: good(func(t *driver.Token) {
			t.AccessToken, t.RefreshToken, t.AccountID = slAccess, slRefresh, "5f0bda5e4e5fca0010c81fef"
		})},
		{name: "empty token: nothing to check", tok: &driver.Token{}},
		{name: "nil token", tok: nil, want: bad("no token")},

		// access_token: RFC 6750 §2.1 b64token.
		{name: "access every b64token character", tok: good(func(t *driver.Token) {
			t.AccessToken = "azAZ09-._~+/"
		})},
		{name: "access = padding", tok: good(func(t *driver.Token) { t.AccessToken = "c2VjcmV0K3NlY3JldA==" })},
		{name: "access CR/LF", tok: good(func(t *driver.Token) { t.AccessToken = "abc\r\nX-Injected: 1" }),
			want: bad(b64 + "byte 3 is a control character")},
		{name: "access LF at the end", tok: good(func(t *driver.Token) { t.AccessToken = jsAccess + "\n" }),
			want: bad(b64 + "byte 64 is a control character")},
		{name: "access ANSI escape", tok: good(func(t *driver.Token) { t.AccessToken = "\x1b[31mred" }),
			want: bad(b64 + "byte 0 is a control character")},
		{name: "access NUL", tok: good(func(t *driver.Token) { t.AccessToken = "ab\x00cd" }),
			want: bad(b64 + "byte 2 is a control character")},
		{name: "access space", tok: good(func(t *driver.Token) { t.AccessToken = "abc def" }),
			want: bad(b64 + "byte 3 is a space")},
		{name: "access comma (a second auth-param)", tok: good(func(t *driver.Token) { t.AccessToken = `abc,realm="x"` }),
			want: bad(b64 + "byte 3 is a character outside the b64token set (letters, digits, - . _ ~ + / and final = padding)")},
		{name: "access non-ASCII", tok: good(func(t *driver.Token) { t.AccessToken = "tökén" }),
			want: bad(b64 + "byte 1 is a non-ASCII byte")},
		{name: "access = in the middle", tok: good(func(t *driver.Token) { t.AccessToken = "abc=def" }),
			want: bad(b64 + "byte 4 is a character after '=' padding")},
		{name: "access only padding", tok: good(func(t *driver.Token) { t.AccessToken = "==" }),
			want: bad(b64 + "byte 0 is '=' padding with nothing before it")},
		{name: "access padding then space", tok: good(func(t *driver.Token) { t.AccessToken = "abc= " }),
			want: bad(b64 + "byte 4 is a space")},

		// refresh_token: RFC 6749 Appendix A.17, 1*VSCHAR.
		{name: "refresh with a space and symbols", tok: good(func(t *driver.Token) { t.RefreshToken = `a b "c" ~!` })},
		{name: "refresh CR/LF", tok: good(func(t *driver.Token) { t.RefreshToken = "rt\r\nX-Injected: 1" }),
			want: bad(vschar + "byte 2 is a control character")},
		{name: "refresh ANSI escape", tok: good(func(t *driver.Token) { t.RefreshToken = "\x1b[31m" }),
			want: bad(vschar + "byte 0 is a control character")},
		{name: "refresh DEL", tok: good(func(t *driver.Token) { t.RefreshToken = "ab\x7f" }),
			want: bad(vschar + "byte 2 is a control character")},
		{name: "refresh non-ASCII", tok: good(func(t *driver.Token) { t.RefreshToken = "réfresh" }),
			want: bad(vschar + "byte 1 is a non-ASCII byte")},

		// token_type.
		{name: "type lower case", tok: good(func(t *driver.Token) { t.TokenType = "bearer" })},
		{name: "type empty", tok: good(func(t *driver.Token) { t.TokenType = "" })},
		{name: "type mac", tok: good(func(t *driver.Token) { t.TokenType = "mac" }), want: bad(`token_type "mac" is not bearer`)},
		{name: "type with an ANSI escape", tok: good(func(t *driver.Token) { t.TokenType = "\x1b[31mBearer" }),
			want: bad(`token_type "\x1b[31mBearer" is not bearer`)},

		// account.
		{name: "account CR/LF", tok: good(func(t *driver.Token) { t.AccountID = "shop\r\nevil" }),
			want: bad(`account id "shop\r\nevil" holds a control character at byte 4`)},
		{name: "account 257 bytes", tok: good(func(t *driver.Token) { t.AccountID = strings.Repeat("a", 257) }),
			want: bad(`account id "` + strings.Repeat("a", 32) + `"… is 257 bytes long, more than 256`)},

		// Lifetime.
		{name: "lifetime 0", tok: good(func(t *driver.Token) { t.Expiry = t.IssuedAt }), want: bad(lifetime)},
		{name: "lifetime negative", tok: good(func(t *driver.Token) { t.Expiry = t.IssuedAt.Add(-time.Second) }), want: bad(lifetime)},
		{name: "lifetime one nanosecond", tok: good(func(t *driver.Token) { t.Expiry = t.IssuedAt.Add(1) })},
		{name: "no expiry", tok: good(func(t *driver.Token) { t.Expiry = time.Time{} })},
		{name: "issue time unknown", tok: good(func(t *driver.Token) { t.IssuedAt = time.Time{} })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := driver.ValidateToken(tt.tok)
			if diff := cmp.Diff(tt.want, validErrOf(t, err)); diff != "" {
				t.Errorf("ValidateToken error mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err == nil {
				return
			}
			var e *driver.Error
			errors.As(err, &e)
			if e.Op != "" || e.Provider != "" || e.Excerpt != "" {
				t.Errorf("error Op %q Provider %q Excerpt %q, want them empty", e.Op, e.Provider, e.Excerpt)
			}
			text := err.Error()
			if tt.tok != nil {
				for _, secret := range []string{tt.tok.AccessToken, tt.tok.RefreshToken} {
					if len(secret) >= 3 && strings.Contains(text, secret) {
						t.Errorf("error %q shows a token", text)
					}
				}
			}
			checkPrintable(t, text)
		})
	}
}

// checkPrintable fails when text holds a byte a terminal would act on.
func checkPrintable(t *testing.T, text string) {
	t.Helper()
	for _, r := range strings.ReplaceAll(strings.ReplaceAll(text, "…", ""), "≤", "") {
		if r < 0x20 || r >= 0x7f {
			t.Errorf("message %q holds %U", text, r)
			return
		}
	}
}

func TestValidateAccount(t *testing.T) {
	tests := []struct {
		name    string
		account string
		want    string // the message; "" when valid
	}{
		{name: "store code", account: "shop"},
		{name: "SHOPLINE merchant id", account: "5f0bda5e4e5fca0010c81fef"},
		{name: "number", account: "12345"},
		{name: "punctuation", account: `a.b-c_d/e:f@g"h'`},
		{name: "non-ASCII letters", account: "tienda-ñandú"},
		{name: "CJK", account: "店舗"},
		{name: "emoji", account: "shop😀"},
		{name: "256 bytes", account: strings.Repeat("a", 256)},

		{name: "empty", account: "", want: "account id is empty"},
		{name: "257 bytes", account: strings.Repeat("a", 257), want: `account id "` + strings.Repeat("a", 32) + `"… is 257 bytes long, more than 256`},
		{name: "257 bytes cut on a rune", account: "a" + strings.Repeat("é", 128), want: `account id "a\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"… is 257 bytes long, more than 256`},
		{name: "CR/LF", account: "shop\r\nX-Injected: 1", want: `account id "shop\r\nX-Injected: 1" holds a control character at byte 4`},
		{name: "LF", account: "shop\nroot", want: `account id "shop\nroot" holds a control character at byte 4`},
		{name: "ANSI escape", account: "\x1b[31mred", want: `account id "\x1b[31mred" holds a control character at byte 0`},
		{name: "NUL", account: "shop\x00", want: `account id "shop\x00" holds a control character at byte 4`},
		{name: "DEL", account: "shop\x7f", want: `account id "shop\x7f" holds a control character at byte 4`},
		{name: "space", account: "my shop", want: `account id "my shop" holds a space at byte 2`},
		{name: "tab", account: "my\tshop", want: `account id "my\tshop" holds a control character at byte 2`},
		{name: "no-break space", account: "my\u00a0shop", want: `account id "my\u00a0shop" holds a space at byte 2`},
		{name: "line separator", account: "a\u2028b", want: `account id "a\u2028b" holds a space at byte 1`},
		{name: "C1 control NEL", account: "a\u0085b", want: `account id "a\u0085b" holds a space at byte 1`},
		{name: "C1 control CSI", account: "a\u009bb", want: `account id "a\u009bb" holds a control character at byte 1`},
		{name: "right-to-left override U+202E", account: "shop\u202egnp.exe", want: `account id "shop\u202egnp.exe" holds a format character (a bidirectional control, say) at byte 4`},
		{name: "zero-width space", account: "sh\u200bop", want: `account id "sh\u200bop" holds a format character (a bidirectional control, say) at byte 2`},
		{name: "private use", account: "a\ue000", want: `account id "a\ue000" holds a character that is not graphic at byte 1`},
		{name: "invalid UTF-8", account: "shop\xff", want: `account id "shop\xff" is not valid UTF-8 at byte 4`},
		{name: "encoded surrogate", account: "a\xed\xa0\x80", want: `account id "a\xed\xa0\x80" is not valid UTF-8 at byte 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := driver.ValidateAccount(tt.account)
			var want *validErr
			if tt.want != "" {
				want = &validErr{Code: driver.BadResponse, Msg: tt.want}
			}
			if diff := cmp.Diff(want, validErrOf(t, err)); diff != "" {
				t.Errorf("ValidateAccount(%q) mismatch (-want +got):\n%s", tt.account, diff)
			}
			if err != nil {
				checkPrintable(t, err.Error())
			}
			// ValidateToken applies the same rule to a set AccountID.
			tokErr := driver.ValidateToken(&driver.Token{AccountID: tt.account})
			if tt.account != "" && (tokErr == nil) != (err == nil) {
				t.Errorf("ValidateToken with AccountID %q: %v, ValidateAccount: %v", tt.account, tokErr, err)
			}
		})
	}
}

func TestValidateTokenDoesNotAllocate(t *testing.T) {
	tok := &driver.Token{AccessToken: slAccess, TokenType: "Bearer", RefreshToken: slRefresh, AccountID: "5f0bda5e4e5fca0010c81fef",
		IssuedAt: fixedNow, Expiry: fixedNow.Add(time.Hour)}
	if n := testing.AllocsPerRun(100, func() {
		if driver.ValidateToken(tok) != nil {
			t.Fatal("refused")
		}
	}); n != 0 {
		t.Errorf("ValidateToken allocates %v times on a valid token", n)
	}
}

// TestParseStandardTokenRefusesFields checks that an answer whose lifetime
// is not positive, or whose fields break the grammars ValidateToken checks,
// is a BadResponse without an excerpt that could show the token.
func TestParseStandardTokenRefusesFields(t *testing.T) {
	const notPositive = "expires_in is not positive: the token's lifetime must be positive"
	tests := []struct {
		name string
		spec *driver.Spec // jsSpec when nil
		body string
		want string // Msg
	}{
		{name: "expires_in 0", body: answer(`"token_type":"bearer","expires_in":0`), want: notPositive},
		{name: "expires_in 0.0", body: answer(`"token_type":"bearer","expires_in":0.0`), want: notPositive},
		{name: "expires_in -0", body: answer(`"token_type":"bearer","expires_in":-0`), want: notPositive},
		{name: "expires_in -1", body: answer(`"token_type":"bearer","expires_in":-1`), want: notPositive},
		{name: "expires_in \"0\"", body: answer(`"token_type":"bearer","expires_in":"0"`), want: notPositive},
		{name: "expires_in \"-5\"", body: answer(`"token_type":"bearer","expires_in":"-5"`), want: notPositive},
		{name: "expires_in NaN", body: answer(`"token_type":"bearer","expires_in":"NaN"`), want: notPositive},
		{name: "expires_in -Inf", body: answer(`"token_type":"bearer","expires_in":"-Inf"`), want: notPositive},
		{name: "expires_in -1e400 (beyond float64)", body: answer(`"token_type":"bearer","expires_in":-1e400`), want: notPositive},
		{name: "expires_in 1e-400 (rounds to 0)", body: answer(`"token_type":"bearer","expires_in":1e-400`), want: notPositive},
		{name: "expires_in 0 without a default lifetime", spec: bareSpec, body: answer(`"token_type":"bearer","expires_in":0`), want: notPositive},
		{name: "expires_in below a nanosecond", body: answer(`"token_type":"bearer","expires_in":1e-10`),
			want: "token lifetime ≤ 0: its expiry is not after the time it was issued"},
		{name: "CR/LF in access_token", body: `{"access_token":"a\r\nX-Injected: 1","token_type":"bearer","expires_in":60}`,
			want: "access_token is not an RFC 6750 b64token: byte 1 is a control character"},
		{name: "CR/LF in access_token under an escaped name", body: `{"access_\u0074oken":"a\r\nX-Injected: 1","token_type":"bearer","expires_in":60}`,
			want: "access_token is not an RFC 6750 b64token: byte 1 is a control character"},
		{name: "space in access_token", body: `{"access_token":"a b","token_type":"bearer","expires_in":60}`,
			want: "access_token is not an RFC 6750 b64token: byte 1 is a space"},
		{name: "CR/LF in refresh_token", body: answer(`"token_type":"bearer","expires_in":60,"refresh_token":"r\r\nX-Injected: 1"`),
			want: "refresh_token is not RFC 6749 VSCHAR: byte 1 is a control character"},
		{name: "ANSI escape in refresh_token", body: answer(`"token_type":"bearer","refresh_token":"\u001b[31m"`),
			want: "refresh_token is not RFC 6749 VSCHAR: byte 0 is a control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			if spec == nil {
				spec = jsSpec
			}
			r := &driver.TokenResponse{Grant: "refresh_token", Status: 200, Header: http.Header{"Content-Type": {jsonType}},
				Body: []byte(tt.body), Now: fixedNow, Requested: requested}
			tok, err := driver.ParseStandardToken(spec, r)
			if tok != nil {
				t.Errorf("ParseStandardToken accepted %s", tok)
			}
			want := &errWant{Code: driver.BadResponse, Status: 200, Msg: tt.want}
			if diff := cmp.Diff(want, errOf(t, err)); diff != "" {
				t.Fatalf("error mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			var e *driver.Error
			errors.As(err, &e)
			if e.Excerpt != "" || e.Op != "refresh" || e.Provider != spec.Name {
				t.Errorf("error Excerpt %q Op %q Provider %q, want no excerpt, refresh, %q", e.Excerpt, e.Op, e.Provider, spec.Name)
			}
			if text := err.Error(); strings.Contains(text, "X-Injected") || strings.Contains(text, secretAT) {
				t.Errorf("error %q shows a token", text)
			}
		})
	}
}
