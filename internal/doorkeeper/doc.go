// Package doorkeeper holds the tests that run the connector — the library and
// the connector command — against a real Doorkeeper: Debian's
// ruby-doorkeeper (5.5) on ruby-rails (6.1) with ruby-sqlite3, configured as
// Jumpseller and SHOPLINE run theirs. The package has no code of its own.
//
// The Rails application is one file, testdata/app/app.rb, that requires the
// installed gems (no Gemfile, no bundler). TestDoorkeeper starts one server
// per configuration — each provider with each rotation mode (the install
// migration's previous_refresh_token column present, or not) — on a free
// loopback port, with its SQLite database in a temporary directory, and
// stops it when the test ends.
//
// # Running
//
//	apt-get install -y --no-install-recommends ruby-doorkeeper ruby-rails ruby-sqlite3
//	go test -race -run Doorkeeper ./internal/doorkeeper/
//
// Without the packages the tests are skipped, saying what to install; under
// CI=true their absence is a failure (internal/testenv).
//
// # What is held to the real server
//
//   - Doorkeeper's wire: the token answer of each provider, the status of
//     invalid_client (401) and of every other error, invalid_grant included
//     (400), the API's 401 and its WWW-Authenticate challenge, both rotation
//     modes, /oauth/revoke, /oauth/token/info, the authorize endpoint's error
//     page, loopback redirect URIs on any port, the out-of-band code page and
//     the code lifetime. These are the facts the simulators must match; each
//     test names the file of the gem that shows it.
//   - The library: authorize, exchange, identify, API calls, expiry and
//     refresh, an expired code, a wrong client secret, and revocation: after
//     Revoke no refresh token of the grant works at the server (issue 11).
//   - The connector command: auth (loopback and out-of-band), token, call,
//     connections, revoke; eight processes refreshing one expired token; a
//     401 answered by one refresh and a retry; a grant revoked at the server;
//     a wrong client secret.
package doorkeeper
