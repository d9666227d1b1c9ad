// Package profile reads providers described as data: a YAML profile
// (documented in docs/profiles.md, with schema.json beside this file for
// editors) becomes a driver.Provider through the same driver contract as
// a Go driver, and gets a simulator of its provider for free.
//
// Connection strings speak CData's `Profile=…`; CData's own API Profiles
// (.apip) are not read (RefuseAPIP says so and points at the format).
//
// # Loading
//
//	p, err := profile.Load("tiendanube.yaml")
//	// a wrong profile: *driver.Error{Code: InvalidConfig} holding a
//	// *profile.FieldError with the file, the line and the field
//
// Catalog returns the profiles embedded in the module (Jumpseller,
// SHOPLINE and other commerce providers); each fact in them cites the
// provider's documentation, and facts that could not be verified are
// marked so (Profile.Unverified).
//
// # One engine
//
// Profile.Driver returns a driver.Provider whose ParseToken, Identify,
// Refresh and Revoke read the profile and call the driver package's
// helpers (driver.ParseStandardToken, driver.NewTokenRequest,
// driver.StandardRevoke, driver.ValidateToken): a registered profile is a
// provider like any other. Properties such as a shop's subdomain fill
// {placeholders} in the profile's URLs: Bind them first (Missing lists
// those without a value).
//
// What a profile can say beyond the standard requests goes through the
// driver package's hooks, which this package's drivers implement and the
// engine calls (driver.Exchanger, driver.APIAuthorizer; driver.Prober for
// the CLI's demo); Profile.Hooks names those a profile relies on.
//
// # Using a profile
//
// The catalog's profiles are registered providers: connector.Providers
// lists them beside the Go drivers (a Go driver of the same name wins),
// connector.Lookup returns their drivers, Provider=shopify works in a
// connection string. A profile file of the user's is named by
// Profile=path.yaml (Provider is then optional). Properties come from
// ProfileSettings ("shop=acme;region=eu"); connector.Open binds them and
// refuses a profile with a property left unset. FromDriver returns the
// profile behind a driver.
//
// # Simulators
//
// Profile.Simulator returns an http.Handler that plays the provider,
// strict about the profile's own wire format, with the methods of
// simulator.Server (AddClient, Approve, SetClock, InjectFault, Stats…).
package profile
