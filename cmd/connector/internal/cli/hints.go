package cli

import (
	"regexp"
	"strings"

	"github.com/connector-go/connector/driver"
)

// The library's messages for Go developers that the command says for its
// users instead: which providers and stores this program has, rather than
// an import to add.
var (
	unknownProvider = regexp.MustCompile(`unknown provider "([^"]*)" \(known: ([^;)]*); forgotten import\?\)`)
	unknownStore    = regexp.MustCompile(`no store backend for scheme "([^"]*)" \(forgotten import of [^;]*;\s*linked: ([^)]*)\)`)
)

// hint rewrites msg, the message of err, for a person at the command line
// and adds what to do where the cause is a common slip: an unquoted
// connection string cut by the shell at its first ';', scopes separated
// by commas.
func (e *env) hint(err error, msg string) string {
	code := driver.CodeOf(err)
	switch code {
	case driver.UnknownProvider:
		msg = unknownProvider.ReplaceAllStringFunc(msg, func(s string) string {
			m := unknownProvider.FindStringSubmatch(s)
			known := strings.Split(m[2], ", ")
			out := `unknown provider "` + m[1] + `"`
			if sug := suggest(m[1], known); sug != "" {
				out += "; did you mean " + sug + "?"
			}
			return out + " (this connector has " + m[2] + "; connector providers describes them)"
		})
	case driver.InvalidConfig:
		msg = unknownStore.ReplaceAllStringFunc(msg, func(s string) string {
			m := unknownStore.FindStringSubmatch(s)
			return `no store for OAuthSettingsLocation scheme "` + m[1] + `": this connector has the stores ` + storeKinds(m[2])
		})
		if e.cutByShell(msg) {
			msg += "; the connection string holds a single property: if you typed it without quotes, the shell ended it at the first ';'. " +
				"Quote it (--dsn 'Provider=…;OAuthClientId=…') or put it in a file (--dsn-file FILE)"
		}
	case driver.InvalidScope:
		if strings.Contains(msg, ",") {
			msg += "; scopes are separated by spaces, not commas (Scope=\"read_products read_orders\")"
		}
	}
	return msg
}

// cutByShell reports whether msg says client credentials are missing from
// a connection string, given on the command line or in the environment,
// that holds one property: what the shell leaves of an unquoted
// --dsn Provider=x;OAuthClientId=…
func (e *env) cutByShell(msg string) bool {
	if !strings.Contains(msg, "OAuthClientId") && !strings.Contains(msg, "OAuthClientSecret") || !strings.Contains(msg, "required") {
		return false
	}
	if e.dsnFrom != "--dsn" && e.dsnFrom != "$"+EnvDSN {
		return false
	}
	return !strings.Contains(strings.TrimSuffix(e.rawDSN, ";"), ";")
}

// storeKinds describes the linked store schemes for a user.
func storeKinds(linked string) string {
	var kinds []string
	for _, s := range strings.Split(linked, ", ") {
		if s == "file" {
			kinds = append(kinds, "SQLite (a file path)")
		} else {
			kinds = append(kinds, s+"://")
		}
	}
	return strings.Join(kinds, ", ") + " (see docs/stores.md)"
}
