package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/connector-go/connector/driver"
)

// The fuzz target checks itself: each answer below, given to a lenient
// driver (one that trusts what it parses, as the standard parser did before
// it validated tokens and lifetimes), must make checkTokenAnswer report;
// given to the standard parser it must not.

// findings is a testing.TB that records failures instead of failing.
type findings struct {
	testing.TB
	msgs []string
}

// errFatal stops a checkTokenAnswer run after Fatalf.
type errFatal struct{}

func (f *findings) Helper() {}
func (f *findings) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
func (f *findings) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	panic(errFatal{})
}

// run returns what checkTokenAnswer reports about one answer.
func run(t *testing.T, c TokenFuzz, status int, body string) []string {
	f := &findings{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(errFatal); !ok {
					panic(r)
				}
			}
		}()
		checkTokenAnswer(f, c, status, "application/json", body, "", "", 0)
	}()
	return f.msgs
}

// lenient parses a token answer and believes it: any access_token is sent
// as it is, an expires_in of 0 or less means "never expires", and the
// Spec's DefaultLifetime is forgotten.
type lenient struct{ spec *driver.Spec }

func (p lenient) Spec() *driver.Spec { return p.spec }
func (p lenient) ParseToken(r *driver.TokenResponse) (*driver.Token, error) {
	var a struct {
		AccessToken  string  `json:"access_token"`
		RefreshToken string  `json:"refresh_token"`
		ExpiresIn    float64 `json:"expires_in"`
		Account      string  `json:"resource_owner_id"`
	}
	if r.Status/100 != 2 || json.Unmarshal(r.Body, &a) != nil || a.AccessToken == "" {
		return nil, &driver.Error{Code: driver.BadResponse, Provider: p.spec.Name, Msg: "refused"}
	}
	t := &driver.Token{AccessToken: a.AccessToken, TokenType: "Bearer", RefreshToken: a.RefreshToken, AccountID: a.Account, IssuedAt: r.Now}
	if a.ExpiresIn > 0 {
		t.Expiry = r.Now.Add(time.Duration(a.ExpiresIn * float64(time.Second)))
	}
	return t, nil
}
func (lenient) Identify(context.Context, *driver.Env, *driver.Token) (string, error) { return "", nil }

// standardParser is the standard parser, lifting resource_owner_id as SHOPLINE's
// driver does.
type standardParser struct{ spec *driver.Spec }

func (p standardParser) Spec() *driver.Spec { return p.spec }
func (p standardParser) ParseToken(r *driver.TokenResponse) (*driver.Token, error) {
	t, err := driver.ParseStandardToken(p.spec, r)
	if err != nil {
		return nil, err
	}
	if v, ok := t.Extra["resource_owner_id"].(string); ok {
		delete(t.Extra, "resource_owner_id")
		if err := driver.ValidateAccount(v); err != nil {
			var e *driver.Error
			if errors.As(err, &e) {
				e.Provider = p.spec.Name
			}
			return nil, err
		}
		t.AccountID = v
	}
	return t, nil
}
func (standardParser) Identify(context.Context, *driver.Env, *driver.Token) (string, error) {
	return "", nil
}

var (
	_ driver.Provider = lenient{}
	_ driver.Provider = standardParser{}
)

func TestFuzzParseTokenFindsBrokenDrivers(t *testing.T) {
	noDefault := &driver.Spec{Name: "selftest", ScopeSeparator: " "}
	withDefault := &driver.Spec{Name: "selftest", ScopeSeparator: " ", DefaultLifetime: time.Hour}
	tests := []struct {
		name string
		spec *driver.Spec
		body string
	}{
		{"CR/LF in access_token", noDefault, `{"access_token":"a\r\nX-Injected: 1","token_type":"bearer","expires_in":3600}`},
		{"space in access_token", noDefault, `{"access_token":"a b","token_type":"bearer","expires_in":3600}`},
		{"CR/LF in refresh_token", noDefault, `{"access_token":"a","refresh_token":"r\r\n","token_type":"bearer","expires_in":3600}`},
		{"ANSI escape in the account", noDefault, `{"access_token":"a","token_type":"bearer","expires_in":3600,"resource_owner_id":"\u001b[31mm1"}`},
		{"expires_in 0", noDefault, `{"access_token":"a","token_type":"bearer","expires_in":0}`},
		{"expires_in -1", noDefault, `{"access_token":"a","token_type":"bearer","expires_in":-1}`},
		{"no expires_in but a default lifetime", withDefault, `{"access_token":"a","token_type":"bearer"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
			if got := run(t, TokenFuzz{Provider: lenient{tt.spec}, Now: now, Lifted: []string{"resource_owner_id"}}, 200, tt.body); len(got) == 0 {
				t.Errorf("checkTokenAnswer found nothing wrong with the lenient driver's answer to %s", tt.body)
			}
			if got := run(t, TokenFuzz{Provider: standardParser{tt.spec}, Now: now, Lifted: []string{"resource_owner_id"}}, 200, tt.body); len(got) != 0 {
				t.Errorf("checkTokenAnswer found faults in the standard parser: %q", got)
			}
		})
	}
}

// TestFuzzParseTokenPassesGoodAnswers runs the known-good parser on a
// documented answer: no finding.
func TestFuzzParseTokenPassesGoodAnswers(t *testing.T) {
	spec := &driver.Spec{Name: "selftest", ScopeSeparator: " ", DefaultLifetime: time.Hour}
	c := TokenFuzz{Provider: standardParser{spec}, Now: time.Unix(1502473100, 0), Lifted: []string{"resource_owner_id"}}
	for _, body := range []string{
		`{"access_token":"80de978742714f8747036188cf6bab538e976adf72144d545e185ae444bc473d","token_type":"bearer","expires_in":3600,"created_at":1502473092}`,
		`{"access_token":"a","token_type":"Bearer","resource_owner_id":"5f0bda5e4e5fca0010c81fef"}`,
		`{"error":"invalid_client","error_description":"client secret ` + FuzzSecret + ` is not valid"}`,
	} {
		if got := run(t, c, 200, body); len(got) != 0 {
			t.Errorf("checkTokenAnswer(%s): %q", body, got)
		}
	}
}
