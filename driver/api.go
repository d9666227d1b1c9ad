package driver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
)

// Version is the module's version, for User-Agent headers.
const Version = "0.1.0"

// GetJSON GETs url from the provider's API with tok as Bearer and
// Spec.APIHeaders, through env.HTTP, and decodes a 200 JSON answer into v.
// Drivers use it in Identify. Failures are *Error with Op "identify":
// Unavailable for transport errors, 429 and 5xx; ProviderError (with the
// status) for a refused request; BadResponse for an answer that is not the
// expected JSON. what names the resource in messages ("store/info.json").
func GetJSON(ctx context.Context, env *Env, url, what string, tok *Token, v any) error {
	spec := env.Provider.Spec()
	fail := func(code Code, msg string) *Error {
		return &Error{Code: code, Op: "identify", Provider: spec.Name, Msg: msg}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		e := fail(InvalidConfig, "bad API base URL")
		e.Err = redactURLError(err)
		return e
	}
	for k, vs := range spec.APIHeaders {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := env.HTTP.Do(req)
	if err != nil {
		e := fail(Unavailable, "API unreachable")
		e.Err = redactURLError(err)
		return e
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	e := fail(ProviderError, "")
	e.Status, e.ContentType, e.Excerpt = resp.StatusCode, resp.Header.Get("Content-Type"), Excerpt(body)
	switch {
	case err != nil:
		e.Code, e.Msg, e.Err = Unavailable, what+" answer cut off", redactURLError(err)
		return e
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		e.Code, e.Msg = Unavailable, "API unavailable for "+what
		return e
	case resp.StatusCode == http.StatusUnauthorized:
		e.Msg = "API refused the access token for " + what
		return e
	case resp.StatusCode != http.StatusOK:
		e.Msg = what + " answered with an error status"
		return e
	}
	if err := json.Unmarshal(body, v); err != nil {
		e.Code, e.Msg = BadResponse, what+" is not the expected JSON"
		return e
	}
	return nil
}
