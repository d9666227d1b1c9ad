package connector

import "github.com/connector-go/connector/driver"

// Token is a normalised OAuth 2 token: access and refresh token, type
// (always "Bearer"), expiry, scopes, the account it belongs to and the
// provider's other fields as extras. Its String form hides the secrets.
//
// A *Token returned by Connection.Token is shared: do not modify it.
type Token = driver.Token
