package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Redacted is what ScrubString and Excerpt put in place of a secret.
const Redacted = "[redacted]"

// ScrubString returns s with every occurrence of each non-empty secret
// replaced, and every occurrence of the forms a secret takes on its way
// into a text: URL-escaped (url.QueryEscape and url.PathEscape), JSON-escaped
// (with and without HTML escaping, and with "/" written "\/"), Go-quoted
// (strconv.Quote and strconv.QuoteToASCII), each without its quotes; these
// escapes applied twice (a JSON request quoted in an error_description,
// seen in an excerpt of the JSON answer); and each form with runs of white
// space folded into one space, as Excerpt folds them. Base64 forms are not
// searched.
//
// Every occurrence of every form is found in s first, overlapping ones
// included, and each run of text they cover is replaced once, by Redacted:
// a secret that contains another is replaced whole, whatever the order of
// the secrets. Short secrets (even one character) are replaced too, wherever
// they occur: secrecy beats readability.
//
// A text cut short by Excerpt ends in "…": the start of a secret right
// before a "…" is replaced as well, since a cut secret is still a piece of
// it.
//
// The result holds no occurrence of any form, including ones a
// replacement could make by joining its neighbours: when a form could
// overlap Redacted (a secret holding "[" or "]", or one found inside
// "[redacted]" such as "red"), another replacement is used, made of
// characters that none of the forms holds.
func ScrubString(s string, secrets ...string) string {
	sc := newScrubber(secrets)
	if sc == nil {
		return s
	}
	return sc.scrub(s)
}

// Scrub returns err with every secret removed from its text, as
// ScrubString removes them, for provider-supplied text (error_description,
// excerpts, bodies) that may echo the client secret or a token the engine
// holds. err itself is never modified: an *Error may be shared.
//
// Scrub walks err's chain (Unwrap() error, and Unwrap() []error as
// errors.Join builds it):
//   - an *Error is copied, with Msg, OAuthError, OAuthDescription, Excerpt
//     and ContentType scrubbed and Err replaced by its scrubbed chain; an
//     *Error that needs no change is kept as it is;
//   - any other link whose Error() holds a secret, or whose chain holds one,
//     is replaced by an error whose text is its Error() scrubbed and whose
//     Unwrap returns the scrubbed chain below it. The replacement keeps
//     errors.Is(err, context.Canceled) and errors.Is(err,
//     context.DeadlineExceeded) true when the link was or wrapped one of
//     them, and keeps the *Error links below it (errors.As, CodeOf); other
//     identities of a replaced link (its type for errors.As, its own Is
//     method) are lost, so classify an error before scrubbing it.
//
// When the text the copies format still shows a secret (a secret found in
// the fixed parts of a message, such as "connector", or one straddling two
// fields), the result is wrapped once more in an error with the scrubbed
// text that unwraps to the copy.
//
// Scrub(nil, …) is nil; with no non-empty secret Scrub returns err itself,
// without cost. CodeOf(Scrub(err, …)) is always CodeOf(err).
func Scrub(err error, secrets ...string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	sc := newScrubber(secrets)
	if sc == nil {
		return err
	}
	out, _ := sc.scrubErr(err, 0)
	text := out.Error()
	if clean := sc.scrub(text); clean != text {
		out = &scrubbedError{msg: clean, errs: []error{out}}
	}
	return out
}

// scrubbedError stands for a link of an error chain whose text held a secret.
type scrubbedError struct {
	msg  string
	errs []error // the scrubbed chain below the link
	ctx  []error // context.Canceled and/or context.DeadlineExceeded, when the link matched them
	as   *Error  // what errors.As found in the link, when its chain no longer finds it
}

func (e *scrubbedError) Error() string   { return e.msg }
func (e *scrubbedError) Unwrap() []error { return e.errs }

// Is keeps errors.Is true for the context errors the replaced link matched.
func (e *scrubbedError) Is(target error) bool {
	for _, c := range e.ctx {
		if target == c {
			return true
		}
	}
	return false
}

// As keeps CodeOf for a replaced link whose own As method produced an *Error.
func (e *scrubbedError) As(target any) bool {
	if p, ok := target.(**Error); ok && e.as != nil {
		*p = e.as
		return true
	}
	return false
}

// maxScrubDepth bounds the walk of a chain: below it, a link is replaced by
// its scrubbed text alone.
const maxScrubDepth = 64

// scrubErr returns err scrubbed and whether it differs from err.
func (sc *scrubber) scrubErr(err error, depth int) (error, bool) {
	if err == nil {
		return nil, false
	}
	if e, ok := err.(*Error); ok {
		if e == nil {
			return err, false
		}
		var inner error
		changed := false
		if depth < maxScrubDepth {
			inner, changed = sc.scrubErr(e.Err, depth+1)
		} else if e.Err != nil {
			inner, changed = sc.leaf(e.Err), true
		}
		c := *e
		c.Msg, c.OAuthError, c.OAuthDescription = sc.scrub(e.Msg), sc.scrub(e.OAuthError), rebound(sc.scrub(e.OAuthDescription))
		c.Excerpt, c.ContentType = rebound(sc.scrub(e.Excerpt)), sc.scrub(e.ContentType)
		if !changed && c.Msg == e.Msg && c.OAuthError == e.OAuthError && c.OAuthDescription == e.OAuthDescription &&
			c.Excerpt == e.Excerpt && c.ContentType == e.ContentType {
			return e, false
		}
		if changed {
			c.Err = inner
		}
		return &c, true
	}
	var kids []error
	changed := false
	if depth < maxScrubDepth {
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if w := u.Unwrap(); w != nil {
				k, ch := sc.scrubErr(w, depth+1)
				kids, changed = []error{k}, ch
			}
		case interface{ Unwrap() []error }:
			ws := u.Unwrap()
			kids = make([]error, 0, len(ws))
			for _, w := range ws {
				if w == nil {
					continue
				}
				k, ch := sc.scrubErr(w, depth+1)
				kids = append(kids, k)
				changed = changed || ch
			}
		}
	}
	text := err.Error()
	clean := sc.scrub(text)
	if !changed && clean == text {
		return err, false
	}
	r := &scrubbedError{msg: clean, errs: kids}
	sc.keepIdentity(r, err)
	return r, true
}

// leaf replaces err, at the depth limit, by its scrubbed text alone.
func (sc *scrubber) leaf(err error) error {
	r := &scrubbedError{msg: sc.scrub(err.Error())}
	sc.keepIdentity(r, err)
	return r
}

// keepIdentity makes r match what Scrub promises to keep of err.
func (sc *scrubber) keepIdentity(r *scrubbedError, err error) {
	for _, c := range [...]error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, c) {
			r.ctx = append(r.ctx, c)
		}
	}
	var e *Error
	if errors.As(err, &e) && CodeOf(r) != e.Code {
		c := *e
		c.Msg, c.OAuthError, c.OAuthDescription = sc.scrub(e.Msg), sc.scrub(e.OAuthError), rebound(sc.scrub(e.OAuthDescription))
		c.Excerpt, c.ContentType, c.Err = rebound(sc.scrub(e.Excerpt)), sc.scrub(e.ContentType), nil
		r.as = &c
	}
}

// scrubber holds the forms of a set of secrets and the replacement that
// cannot join with any of them.
type scrubber struct {
	forms []string
	repl  string
	kmp   [][]int // prefix functions of forms, built when a text holds "…"
}

// newScrubber returns nil when no secret is non-empty.
func newScrubber(secrets []string) *scrubber {
	var forms []string
	add := func(f string) {
		if f == "" {
			return
		}
		for _, g := range forms {
			if g == f {
				return
			}
		}
		forms = append(forms, f)
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		start := len(forms)
		add(s)
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		escapes := func(s string) {
			for _, html := range []bool{true, false} {
				j := jsonEscape(s, html)
				add(j)
				add(strings.ReplaceAll(j, "/", `\/`))
			}
			add(unquote(strconv.Quote(s)))
			add(unquote(strconv.QuoteToASCII(s)))
		}
		escapes(s)
		// Escaped twice: a description that quotes a JSON request, kept
		// in an excerpt of the JSON answer.
		for _, f := range forms[start:] {
			escapes(f)
		}
		for _, f := range forms[start:] {
			if strings.ContainsFunc(f, unicode.IsSpace) {
				add(strings.Join(strings.Fields(f), " "))
			}
		}
	}
	if len(forms) == 0 {
		return nil
	}
	return &scrubber{forms: forms, repl: replacement(forms)}
}

// jsonEscape returns s as a JSON string without its quotes.
func jsonEscape(s string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if enc.Encode(s) != nil {
		return ""
	}
	return unquote(strings.TrimSuffix(b.String(), "\n"))
}

func unquote(q string) string {
	if len(q) >= 2 {
		return q[1 : len(q)-1]
	}
	return ""
}

// replacement returns Redacted when no form can overlap it in any text,
// else the first of a few alternatives that none can, and at last three
// times a character that no form holds (which nothing can overlap).
func replacement(forms []string) string {
	for _, r := range []string{Redacted, "[REDACTED]", "<redacted>", "***"} {
		ok := true
		for _, f := range forms {
			if joins(f, r) {
				ok = false
				break
			}
		}
		if ok {
			return r
		}
	}
	for c := rune(0x2588); ; c++ { // █ and onwards: some rune is in no form
		held := false
		for _, f := range forms {
			if strings.ContainsRune(f, c) {
				held = true
				break
			}
		}
		if !held {
			return strings.Repeat(string(c), 3)
		}
	}
}

// joins reports whether an occurrence of f in some text A+r+B could overlap
// r: f inside r, or f running from A into (or across) r, or from r into B.
func joins(f, r string) bool {
	if strings.Contains(r, f) {
		return true
	}
	if strings.IndexByte(f, r[0]) < 0 && strings.IndexByte(f, r[len(r)-1]) < 0 {
		return false // a tail of f would start with r[0], a head end with r's last byte
	}
	for k := 1; k < len(f); k++ {
		head, tail := f[:k], f[k:]
		if strings.HasPrefix(r, tail) || strings.HasPrefix(tail, r) ||
			strings.HasSuffix(r, head) || strings.HasSuffix(head, r) {
			return true
		}
	}
	return false
}

// ellipsis marks a text that Excerpt (or an error message) cut short.
const ellipsis = "…"

// scrub replaces every occurrence of every form in s, and a start of a form
// right before an ellipsis.
func (sc *scrubber) scrub(s string) string {
	if s == "" {
		return s
	}
	var mark []bool // the bytes to replace; nil while there are none
	set := func(from, to int) {
		if mark == nil {
			mark = make([]bool, len(s))
		}
		for k := from; k < to; k++ {
			mark[k] = true
		}
	}
	for _, f := range sc.forms {
		done := 0 // bytes before done are already marked for f
		for i := 0; ; {
			j := strings.Index(s[i:], f)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(f)
			set(max(start, done), end)
			done = end
			i = start + 1
		}
	}
	if strings.Contains(s, ellipsis) {
		sc.cutStarts(s, set)
	}
	if mark == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if !mark[i] {
			j := i
			for j < len(s) && !mark[j] {
				j++
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		for i < len(s) && mark[i] {
			i++
		}
		b.WriteString(sc.repl)
	}
	return b.String()
}

// cutStarts calls set for the longest start of a form (shorter than the
// whole form) that ends right before each ellipsis in s. It reads s once per
// form, with the Knuth–Morris–Pratt automaton of the form.
func (sc *scrubber) cutStarts(s string, set func(from, to int)) {
	if sc.kmp == nil {
		sc.kmp = make([][]int, len(sc.forms))
		for i, f := range sc.forms {
			sc.kmp[i] = prefixFunction(f)
		}
	}
	for i, f := range sc.forms {
		pi := sc.kmp[i]
		q := 0    // the longest start of f that s[:k] ends with
		done := 0 // bytes before done are marked already for f
		for k := 0; k < len(s); k++ {
			c := s[k]
			// q == len(f) is a whole occurrence, marked already.
			if c == ellipsis[0] && 0 < q && q < len(f) && strings.HasPrefix(s[k:], ellipsis) {
				set(max(k-q, done), k)
				done = k
			}
			for q > 0 && (q == len(f) || f[q] != c) {
				q = pi[q-1]
			}
			if f[q] == c {
				q++
			}
		}
	}
}

// prefixFunction is Knuth–Morris–Pratt's: pi[i] is the length of the
// longest proper prefix of f[:i+1] that is also its suffix.
func prefixFunction(f string) []int {
	pi := make([]int, len(f))
	for i, q := 1, 0; i < len(f); i++ {
		for q > 0 && f[q] != f[i] {
			q = pi[q-1]
		}
		if f[q] == f[i] {
			q++
		}
		pi[i] = q
	}
	return pi
}

// rebound keeps an excerpt within ExcerptLimit once scrubbing has replaced
// a secret by a longer mark (the start of one cut by Excerpt, say).
func rebound(s string) string {
	const ellipsis = "…"
	if len(s) <= ExcerptLimit+len(ellipsis) {
		return s
	}
	cut := ExcerptLimit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
