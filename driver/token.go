package driver

import (
	"strings"
	"time"
)

// Token is one normalised token answer: the access token, its refresh token,
// when it expires, what it may do and whose it is. Drivers build it from the
// provider's wire format; the engine persists it and hands it out.
//
// A *Token returned by the engine is shared and must not be modified.
// Its String and GoString forms never show the access or refresh token.
type Token struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"` // always "Bearer" once normalised
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"` // zero means it does not expire
	// IssuedAt is when the provider issued the token (its created_at), or the
	// local clock when the provider does not say.
	IssuedAt  time.Time `json:"issued_at,omitzero"`
	Scopes    []string  `json:"scopes,omitempty"`
	AccountID string    `json:"account_id,omitempty"` // the merchant or store the grant belongs to
	// Extra holds every other field of the provider's answer, as decoded JSON
	// (numbers as json.Number); nil when there is none.
	Extra map[string]any `json:"extra,omitempty"`
}

// Lifetime is Expiry - IssuedAt, or 0 when either is unknown.
func (t *Token) Lifetime() time.Duration {
	if t == nil || t.Expiry.IsZero() || t.IssuedAt.IsZero() {
		return 0
	}
	return t.Expiry.Sub(t.IssuedAt)
}

// String describes the token without its secrets.
func (t *Token) String() string {
	if t == nil {
		return "<nil token>"
	}
	var b strings.Builder
	b.WriteString("Token{type=")
	b.WriteString(t.TokenType)
	b.WriteString(" access=")
	b.WriteString(redactedMark(t.AccessToken))
	b.WriteString(" refresh=")
	b.WriteString(redactedMark(t.RefreshToken))
	if !t.Expiry.IsZero() {
		b.WriteString(" expiry=")
		b.WriteString(t.Expiry.UTC().Format(time.RFC3339))
	}
	if t.AccountID != "" {
		b.WriteString(" account=")
		b.WriteString(t.AccountID)
	}
	if len(t.Scopes) > 0 {
		b.WriteString(" scopes=")
		b.WriteString(strings.Join(t.Scopes, ","))
	}
	b.WriteByte('}')
	return b.String()
}

// GoString is String, so that %#v does not print secrets either.
func (t *Token) GoString() string { return t.String() }

func redactedMark(s string) string {
	if s == "" {
		return "none"
	}
	return "[redacted]"
}

// Clone returns a deep copy of t.
func (t *Token) Clone() *Token {
	if t == nil {
		return nil
	}
	c := *t
	c.Scopes = append([]string(nil), t.Scopes...)
	if t.Extra != nil {
		c.Extra = make(map[string]any, len(t.Extra))
		for k, v := range t.Extra {
			c.Extra[k] = v
		}
	}
	return &c
}
