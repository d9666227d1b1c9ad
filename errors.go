package connector

import "github.com/connector-go/connector/driver"

// Error is the one error type of the module. Branch on its Code, through
// CodeOf or errors.As, never on its message. Messages never hold a secret:
// a provider's answer appears only as a short, redacted excerpt.
type Error = driver.Error

// Code classifies an Error.
type Code = driver.Code

// The error codes. See the driver package for what each one means.
const (
	CodeUnknown               = driver.Unknown
	CodeInvalidConfig         = driver.InvalidConfig
	CodeUnknownProvider       = driver.UnknownProvider
	CodeInvalidScope          = driver.InvalidScope
	CodeInvalidState          = driver.InvalidState
	CodeAccessDenied          = driver.AccessDenied
	CodeAuthorizationRequired = driver.AuthorizationRequired
	CodeReauthRequired        = driver.ReauthRequired
	CodeInvalidGrant          = driver.InvalidGrant
	CodeInvalidClient         = driver.InvalidClient
	CodeUnavailable           = driver.Unavailable
	CodeBadResponse           = driver.BadResponse
	CodeRefreshUncertain      = driver.RefreshUncertain
	CodeStore                 = driver.Store
	CodeNotFound              = driver.NotFound
	CodeConflict              = driver.Conflict
	CodeUnsupported           = driver.Unsupported
	CodeProviderError         = driver.ProviderError
	CodeInternal              = driver.Internal
	CodeCanceled              = driver.Canceled
)

// CodeOf returns the Code of the first *Error in err's chain, or CodeUnknown.
func CodeOf(err error) Code { return driver.CodeOf(err) }
