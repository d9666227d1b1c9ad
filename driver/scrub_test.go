package driver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connector-go/connector/driver"
)

// The secrets of the scrub tests, in several shapes.
const (
	shortSecret  = "ab1"
	symbolSecret = "p@ss;w0rd&x=1+/"
	b64Secret    = "c2VjcmV0K3NlY3JldA=="
	outerSecret  = "xyzzy-ab1-xyzzy" // holds shortSecret
)

// secretForms returns the shapes in which Scrub promises a secret does not
// survive: raw, URL-escaped, JSON-escaped (with and without HTML escaping,
// with "/" or "\/"), and JSON-escaped twice.
func secretForms(secret string) []string {
	jsonForms := func(s string) []string {
		j, _ := json.Marshal(s)
		js := string(j[1 : len(j)-1])
		plain := strings.NewReplacer("\\u0026", "&", "\\u003c", "<", "\\u003e", ">").Replace(js)
		return []string{js, plain, strings.ReplaceAll(js, "/", `\/`), strings.ReplaceAll(plain, "/", `\/`)}
	}
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	for _, f := range jsonForms(secret) {
		forms = append(forms, f)
		forms = append(forms, jsonForms(f)...)
	}
	return forms
}

// checkScrubbed fails when text holds any form of any secret.
func checkScrubbed(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, f := range secretForms(s) {
			if strings.Contains(text, f) {
				t.Errorf("%s %q holds %q, a form of the secret %q", what, text, f, s)
			}
		}
	}
}

func TestScrubString(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{name: "no secrets", in: "client secret ab1 is not valid", want: "client secret ab1 is not valid"},
		{name: "empty secret ignored", in: "client secret ab1", secrets: []string{""}, want: "client secret ab1"},
		{name: "not present", in: "client authentication failed", secrets: []string{symbolSecret}, want: "client authentication failed"},
		{name: "short secret", in: "client secret ab1 is not valid", secrets: []string{shortSecret},
			want: "client secret [redacted] is not valid"},
		{name: "short secret everywhere, adjacent occurrences joined", in: "ab1ab1 and xab1y", secrets: []string{shortSecret},
			want: "[redacted] and x[redacted]y"},
		{name: "one-character secret", in: "a-b-a", secrets: []string{"b"}, want: "a-[redacted]-a"},
		{name: "symbols raw", in: "secret " + symbolSecret + " refused", secrets: []string{symbolSecret},
			want: "secret [redacted] refused"},
		{name: "symbols query-escaped", in: "client_secret=p%40ss%3Bw0rd%26x%3D1%2B%2F&x", secrets: []string{symbolSecret},
			want: "client_secret=[redacted]&x"},
		{name: "symbols path-escaped", in: "/clients/p@ss%3Bw0rd&x=1+%2F/secret", secrets: []string{symbolSecret},
			want: "/clients/[redacted]/secret"},
		{name: "symbols JSON-escaped with HTML escaping", in: `{"s":"p@ss;w0rd\u0026x=1+/"}`, secrets: []string{symbolSecret},
			want: `{"s":"[redacted]"}`},
		{name: "symbols JSON-escaped with \\/", in: `{"s":"p@ss;w0rd&x=1+\/"}`, secrets: []string{symbolSecret},
			want: `{"s":"[redacted]"}`},
		{name: "Go-quoted", in: `description "a\"b\\c"`, secrets: []string{`a"b\c`}, want: `description "[redacted]"`},
		{name: "base64 with its padding", in: "basic " + b64Secret + ".", secrets: []string{b64Secret}, want: "basic [redacted]."},
		{name: "base64 query-escaped", in: "s=c2VjcmV0K3NlY3JldA%3D%3D", secrets: []string{b64Secret}, want: "s=[redacted]"},
		{name: "white space folded as Excerpt folds it", in: "secret two words here!", secrets: []string{"two \n\twords\there"},
			want: "secret [redacted]!"},
		{name: "a secret that holds another, short one first", in: "got " + outerSecret + " and ab1", secrets: []string{shortSecret, outerSecret},
			want: "got [redacted] and [redacted]"},
		{name: "a secret that holds another, long one first", in: "got " + outerSecret + " and ab1", secrets: []string{outerSecret, shortSecret},
			want: "got [redacted] and [redacted]"},
		{name: "overlapping occurrences", in: "aaaa", secrets: []string{"aaa"}, want: "[redacted]"},
		{name: "secret cut by an excerpt", in: "client secret p@ss;w0…", secrets: []string{symbolSecret},
			want: "client secret [redacted]…"},
		{name: "secret cut after one character", in: "x p…", secrets: []string{symbolSecret}, want: "x [redacted]…"},
		{name: "ellipsis without a cut secret", in: "see the st…", secrets: []string{symbolSecret}, want: "see the st…"},
		{name: "secret holding [: another replacement", in: "xa[ry", secrets: []string{"a[r"}, want: "x[REDACTED]y"},
		{name: "secret joining with the replacement", in: "aa[r", secrets: []string{"a[r"}, want: "a[REDACTED]"},
		{name: "secret inside [redacted]", in: "red alert", secrets: []string{"red"}, want: "[REDACTED] alert"},
		{name: "secrets ruling out every named replacement", in: "a[b R<c *d", secrets: []string{"[", "R", "<", "*"},
			want: "a███b ███c ███d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := driver.ScrubString(tt.in, tt.secrets...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ScrubString(%q, %q) mismatch (-want +got):\n%s", tt.in, tt.secrets, diff)
			}
			for _, s := range tt.secrets {
				if s != "" && strings.Contains(got, s) {
					t.Errorf("ScrubString(%q, %q) = %q holds %q", tt.in, tt.secrets, got, s)
				}
			}
		})
	}
}

// textError is an error that is not an *Error and wraps nothing.
type textError string

func (e textError) Error() string { return string(e) }

func TestScrub(t *testing.T) {
	const secret = symbolSecret
	provider := func() *driver.Error {
		return &driver.Error{Code: driver.InvalidClient, Op: "exchange", Provider: "p", Status: 401, ContentType: "application/json",
			OAuthError: "invalid_client", OAuthDescription: "client secret " + secret + " is not valid",
			Excerpt: `{"error":"invalid_client","error_description":"client secret p@ss;w0rd\u0026x=1+/ is not valid"}`,
			Msg:     "provider refused the request"}
	}
	tests := []struct {
		name     string
		err      error
		canceled bool // errors.Is(err, context.Canceled) must hold after Scrub
		deadline bool // errors.Is(err, context.DeadlineExceeded) must hold after Scrub
	}{
		{name: "an *Error", err: provider()},
		{name: "an *Error in fmt.Errorf", err: fmt.Errorf("exchange with %s: %w", secret, provider())},
		{name: "an *Error wrapping a text error", err: &driver.Error{Code: driver.Unavailable, Err: textError("dial " + secret)}},
		{name: "errors.Join", err: errors.Join(textError("first "+secret), provider())},
		{name: "context.Canceled below a secret", err: fmt.Errorf("refresh %s: %w", secret, context.Canceled), canceled: true},
		{name: "context.DeadlineExceeded in an *Error", deadline: true,
			err: &driver.Error{Code: driver.RefreshUncertain, Err: fmt.Errorf("post ?secret=%s: %w", url.QueryEscape(secret), context.DeadlineExceeded)}},
		{name: "a chain that joins two *Errors", err: fmt.Errorf("%w; %w", provider(), &driver.Error{Code: driver.Store, Msg: "write " + secret})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.err.Error()
			var orig *driver.Error
			hasError := errors.As(tt.err, &orig)
			var origCopy driver.Error
			if hasError {
				origCopy = *orig
			}

			got := driver.Scrub(tt.err, secret)

			checkScrubbed(t, "Scrub(err).Error()", got.Error(), secret)
			if c, want := driver.CodeOf(got), driver.CodeOf(tt.err); c != want {
				t.Errorf("CodeOf(Scrub(err)) = %v, want %v", c, want)
			}
			var e *driver.Error
			if errors.As(got, &e) != hasError {
				t.Fatalf("Scrub(err) %v: holds an *Error %v, want %v", got, !hasError, hasError)
			}
			if hasError {
				for _, f := range []string{e.Msg, e.OAuthError, e.OAuthDescription, e.Excerpt, e.ContentType} {
					checkScrubbed(t, "field", f, secret)
				}
			}
			if errors.Is(got, context.Canceled) != tt.canceled {
				t.Errorf("errors.Is(Scrub(err), context.Canceled) = %v, want %v", !tt.canceled, tt.canceled)
			}
			if errors.Is(got, context.DeadlineExceeded) != tt.deadline {
				t.Errorf("errors.Is(Scrub(err), context.DeadlineExceeded) = %v, want %v", !tt.deadline, tt.deadline)
			}
			// The caller's error is untouched.
			if tt.err.Error() != before {
				t.Errorf("Scrub changed err's text to %q", tt.err.Error())
			}
			if hasError {
				if diff := cmp.Diff(origCopy, *orig, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
					t.Errorf("Scrub modified the caller's *Error (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestScrubKeepsWhatHoldsNoSecret(t *testing.T) {
	e := &driver.Error{Code: driver.InvalidClient, OAuthDescription: "client authentication failed"}
	tests := []struct {
		name    string
		err     error
		secrets []string
	}{
		{name: "no secrets", err: e},
		{name: "only empty secrets", err: e, secrets: []string{"", ""}},
		{name: "secret absent", err: e, secrets: []string{symbolSecret}},
		{name: "secret absent from a chain", err: fmt.Errorf("exchange: %w", e), secrets: []string{symbolSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := driver.Scrub(tt.err, tt.secrets...); got != tt.err {
				t.Errorf("Scrub returned %#v, want the same error", got)
			}
		})
	}
	if driver.Scrub(nil, symbolSecret) != nil {
		t.Error("Scrub(nil) is not nil")
	}
	if n := testing.AllocsPerRun(100, func() { _ = driver.Scrub(e) }); n != 0 {
		t.Errorf("Scrub without secrets allocates %v times", n)
	}
}

// TestScrubSecretInFixedText covers a secret that the message's own words
// hold: the result is wrapped once more so that its text shows none.
func TestScrubSecretInFixedText(t *testing.T) {
	err := &driver.Error{Code: driver.InvalidClient, Op: "exchange", Status: 401}
	got := driver.Scrub(err, "connector", "401")
	if text := got.Error(); strings.Contains(text, "connector") || strings.Contains(text, "401") {
		t.Errorf("Scrub(err).Error() = %q", text)
	}
	if driver.CodeOf(got) != driver.InvalidClient {
		t.Errorf("CodeOf = %v", driver.CodeOf(got))
	}
}

// TestScrubTokenEndpointAnswer runs a real token endpoint answer that
// echoes the client secret through StandardExchange, then Scrub.
func TestScrubTokenEndpointAnswer(t *testing.T) {
	description := func(secret string) string { return "client secret " + secret + " is not valid" }
	jsonAnswer := func(desc string) string {
		b, _ := json.Marshal(map[string]string{"error": "invalid_client", "error_description": desc})
		return string(b)
	}
	tests := []struct {
		name    string
		secret  string
		others  []string // more secrets the engine holds
		ctype   string
		answer  string
		leaks   bool // whether the unscrubbed error shows the secret (the bug)
		wantErr driver.Code
	}{
		{name: "short secret", secret: shortSecret, ctype: jsonType, answer: jsonAnswer(description(shortSecret)), leaks: true, wantErr: driver.InvalidClient},
		{name: "secret with symbols", secret: symbolSecret, ctype: jsonType, answer: jsonAnswer(description(symbolSecret)), leaks: true, wantErr: driver.InvalidClient},
		{name: "base64 secret", secret: b64Secret, ctype: jsonType, answer: jsonAnswer(description(b64Secret)), wantErr: driver.InvalidClient},
		{name: "a secret that holds another", secret: outerSecret, others: []string{shortSecret}, ctype: jsonType,
			answer: jsonAnswer(description(outerSecret) + " (ab1)"), leaks: true, wantErr: driver.InvalidClient},
		{name: "secret JSON-escaped in the description", secret: symbolSecret, ctype: jsonType,
			answer: jsonAnswer(`request {"client_secret":"p@ss;w0rd\u0026x=1+\/"} refused`), wantErr: driver.InvalidClient},
		{name: "secret URL-encoded in an excerpt", secret: symbolSecret, ctype: "text/plain",
			answer: "401 Unauthorized: bad credentials app:" + url.QueryEscape(symbolSecret) + " for this client", wantErr: driver.BadResponse},
		{name: "secret cut by the excerpt", secret: symbolSecret, ctype: "text/plain",
			answer: strings.Repeat("x", 114) + " " + symbolSecret, wantErr: driver.BadResponse},
	}
	spec := &driver.Spec{Name: "echo", ScopeSeparator: " ", Token: driver.Request{Format: driver.Form, Auth: driver.InBody}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, tt.answer)
			}))
			defer ts.Close()
			env := testEnv(spec, driver.Endpoint{TokenURL: ts.URL + "/oauth/token"}, &http.Client{Timeout: 5 * time.Second})
			env.Config.ClientSecret = tt.secret

			_, err := driver.StandardExchange(context.Background(), env, "the-code")
			if err == nil {
				t.Fatal("StandardExchange accepted a 401")
			}
			if leaks := strings.Contains(err.Error(), tt.secret); leaks != tt.leaks {
				t.Errorf("unscrubbed error shows the secret: %v, want %v: %v", leaks, tt.leaks, err)
			}
			secrets := append([]string{tt.secret}, tt.others...)
			got := driver.Scrub(err, secrets...)
			checkScrubbed(t, "Scrub(err).Error()", got.Error(), secrets...)
			if driver.CodeOf(got) != tt.wantErr || driver.CodeOf(err) != tt.wantErr {
				t.Errorf("codes %v (scrubbed) and %v, want %v", driver.CodeOf(got), driver.CodeOf(err), tt.wantErr)
			}
			if strings.HasSuffix(tt.name, "cut by the excerpt") && strings.Contains(got.Error(), "p@ss") {
				t.Errorf("Scrub(err).Error() = %q keeps the start of a cut secret", got.Error())
			}
			t.Logf("scrubbed: %v", got)
		})
	}
}

// TestScrubKeepsExcerptsBounded: a secret cut by Excerpt and replaced by
// a mark longer than its head leaves the excerpt within ExcerptLimit.
func TestScrubKeepsExcerptsBounded(t *testing.T) {
	secret := strings.Repeat("abcdefghij", 4)
	body := strings.Repeat("x", driver.ExcerptLimit-2) + " " + secret
	e := &driver.Error{Code: driver.BadResponse, Excerpt: driver.Excerpt([]byte(body)), OAuthDescription: driver.Excerpt([]byte(body))}
	got := driver.Scrub(e, secret)
	var se *driver.Error
	if !errors.As(got, &se) {
		t.Fatalf("Scrub returned %T", got)
	}
	for name, s := range map[string]string{"Excerpt": se.Excerpt, "OAuthDescription": se.OAuthDescription} {
		if len(s) > driver.ExcerptLimit+len("…") {
			t.Errorf("%s is %d bytes after scrubbing, over the limit: %q", name, len(s), s)
		}
	}
}
