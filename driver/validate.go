package driver

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxAccountLen is the most bytes an account id may hold.
const MaxAccountLen = 256

// ValidateToken checks what a token answer put into t before anything is
// stored or sent: it returns nil, or an *Error with Code BadResponse whose Msg
// names the field and what is wrong with it. Op and Provider are left empty
// for the caller to set. The message never holds the value of a token; it
// may show an account id or a token type, escaped with
// strconv.QuoteToASCII and cut short, as they could hold terminal escapes.
//
// The rules:
//   - AccessToken, when set, is an RFC 6750 §2.1 b64token:
//     1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
//     RFC 6749 Appendix A.12 allows any VSCHAR (%x20-7E) in an access token
//     in general, but the token is sent as "Authorization: Bearer <token>",
//     and b64token is what that header may carry: a space, a quote, a comma
//     or a CR/LF in it would change the header's meaning.
//   - RefreshToken, when set, is 1*VSCHAR (RFC 6749 Appendix A.17): printable
//     ASCII and space, never a control character such as CR or LF.
//   - AccountID, when set, passes ValidateAccount.
//   - TokenType, when set, is "Bearer" in any case (a normalised token holds
//     "Bearer").
//   - When both Expiry and IssuedAt are set, Expiry is strictly after
//     IssuedAt: a lifetime ≤ 0 would be a token that never was valid, or
//     (read as "no expiry") one that is never refreshed.
//
// A nil token is refused too. On a valid token ValidateToken does not
// allocate.
func ValidateToken(t *Token) error {
	if t == nil {
		return &Error{Code: BadResponse, Msg: "no token"}
	}
	if t.AccessToken != "" {
		if i, what := checkB64Token(t.AccessToken); i >= 0 {
			return &Error{Code: BadResponse, Msg: "access_token is not an RFC 6750 b64token: byte " + strconv.Itoa(i) + " is " + what}
		}
	}
	if t.RefreshToken != "" {
		if i, what := checkVSChars(t.RefreshToken); i >= 0 {
			return &Error{Code: BadResponse, Msg: "refresh_token is not RFC 6749 VSCHAR: byte " + strconv.Itoa(i) + " is " + what}
		}
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") {
		return &Error{Code: BadResponse, Msg: "token_type " + quoteShort(t.TokenType) + " is not bearer"}
	}
	if t.AccountID != "" {
		if err := ValidateAccount(t.AccountID); err != nil {
			return err
		}
	}
	if !t.Expiry.IsZero() && !t.IssuedAt.IsZero() && !t.Expiry.After(t.IssuedAt) {
		return &Error{Code: BadResponse, Msg: "token lifetime ≤ 0: its expiry is not after the time it was issued"}
	}
	return nil
}

// ValidateAccount checks an account id (a store code, a merchant id) from a
// token answer or from Identify: 1 to MaxAccountLen bytes of valid UTF-8,
// every character graphic (unicode.IsGraphic) and none a space
// (unicode.IsSpace). This refuses CR and LF, ESC (terminal escapes), NUL,
// bidirectional controls such as U+202E and every other control or format
// character, any of which could forge a log line or a CLI listing. It returns
// nil or an *Error with Code BadResponse that shows the id escaped with
// strconv.QuoteToASCII and cut short; Op and Provider are left for the
// caller to set.
func ValidateAccount(account string) error {
	bad := func(what string) error {
		return &Error{Code: BadResponse, Msg: "account id " + quoteShort(account) + " " + what}
	}
	switch {
	case account == "":
		return &Error{Code: BadResponse, Msg: "account id is empty"}
	case len(account) > MaxAccountLen:
		return bad("is " + strconv.Itoa(len(account)) + " bytes long, more than " + strconv.Itoa(MaxAccountLen))
	}
	for i := 0; i < len(account); {
		c := account[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == 0x7f {
				if c == ' ' {
					return bad("holds a space at byte " + strconv.Itoa(i))
				}
				return bad("holds a control character at byte " + strconv.Itoa(i))
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(account[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return bad("is not valid UTF-8 at byte " + strconv.Itoa(i))
		case unicode.IsSpace(r):
			return bad("holds a space at byte " + strconv.Itoa(i))
		case unicode.IsControl(r):
			return bad("holds a control character at byte " + strconv.Itoa(i))
		case unicode.Is(unicode.Cf, r):
			return bad("holds a format character (a bidirectional control, say) at byte " + strconv.Itoa(i))
		case !unicode.IsGraphic(r):
			return bad("holds a character that is not graphic at byte " + strconv.Itoa(i))
		}
		i += n
	}
	return nil
}

// checkB64Token returns the offset of the first byte of s that breaks the
// b64token grammar and what that byte is, or -1.
func checkB64Token(s string) (int, string) {
	i := 0
	for i < len(s) && isB64TokenChar(s[i]) {
		i++
	}
	if i == 0 && s[0] == '=' {
		return 0, "'=' padding with nothing before it"
	}
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == '=':
		case i < j && isB64TokenChar(c):
			return j, "a character after '=' padding"
		default:
			return j, byteClass(c, "a character outside the b64token set (letters, digits, - . _ ~ + / and final = padding)")
		}
	}
	return -1, ""
}

// isB64TokenChar reports whether c is one of ALPHA / DIGIT / "-" / "." /
// "_" / "~" / "+" / "/".
func isB64TokenChar(c byte) bool { return b64TokenChars[c] }

// b64TokenChars is isB64TokenChar as a table: a refresh validates a JWT of
// several hundred bytes on the measured path.
var b64TokenChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()

// checkVSChars returns the offset of the first byte of s outside %x20-7E
// and what it is, or -1.
func checkVSChars(s string) (int, string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return i, byteClass(c, "")
		}
	}
	return -1, ""
}

// byteClass names the kind of a refused byte without showing it.
func byteClass(c byte, other string) string {
	switch {
	case c < 0x20 || c == 0x7f:
		return "a control character"
	case c == ' ':
		return "a space"
	case c >= 0x80:
		return "a non-ASCII byte"
	}
	return other
}

// quoteLimit is the most bytes of an account id or a token type an error
// message shows.
const quoteLimit = 32

// quoteShort quotes at most quoteLimit bytes of s with strconv.QuoteToASCII,
// so that no control, format or non-ASCII character reaches a terminal, and
// marks a cut with "…".
func quoteShort(s string) string {
	if len(s) <= quoteLimit {
		return strconv.QuoteToASCII(s)
	}
	cut := quoteLimit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.QuoteToASCII(s[:cut]) + "…"
}
