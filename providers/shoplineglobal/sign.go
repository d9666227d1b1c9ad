package shoplineglobal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"time"
)

// MaxSkew is the most a signed request's timestamp may differ from the
// clock of whoever checks it: "SHOPLINE使用的时间间隔为10分钟" (Generate
// and verify signatures, the note on GET requests,
// https://developer.shopline.com/zh-hans-cn/docs/apps/api-instructions-for-use/generate-and-verify-signatures).
const MaxSkew = 10 * time.Minute

// Sign returns SHOPLINE's signature of a POST: the hex HMAC-SHA256, keyed
// with the app secret, of the body followed by the timestamp (Unix
// milliseconds, as sent in the timestamp header). A POST without a body
// (the refresh) signs the timestamp alone. Source: shopline-sdk-go
// client/sign.go GenerateSign (SHOPLINE's page for POST requests was not
// readable here).
func Sign(appSecret, body, timestamp string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(body))
	m.Write([]byte(timestamp))
	return hex.EncodeToString(m.Sum(nil))
}

// SignQuery returns SHOPLINE's signature of a GET (the install request,
// the authorization callback): the hex HMAC-SHA256, keyed with the app
// secret, of every parameter but sign, sorted by name, as name=value joined
// by "&", each with its first value as it is (Generate and verify
// signatures, GET; the values unencoded as shopline-sdk-go's
// GenerateSignForGet signs them).
func SignQuery(appSecret string, q url.Values) string {
	var b strings.Builder
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if k != "sign" && !yield(k) {
				return
			}
		}
	}) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(q.Get(k))
	}
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(b.String()))
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyQuery checks a signed GET from SHOPLINE at time now: its sign must
// be SignQuery's, and its timestamp within MaxSkew of now. Use it for the
// install request (GET {appUrl}?appkey&handle&lang&timestamp&sign), which
// reaches the application and not the engine; the authorization callback
// is checked by the driver when Connector.HandleCallback reads it. The
// error is an *driver.Error with Code InvalidState, and names what is
// wrong, never the values.
func VerifyQuery(appSecret string, q url.Values, now time.Time) error {
	if err := checkSign(appSecret, q); err != nil {
		return err
	}
	ts, err := callbackTime(q)
	if err != nil {
		return err
	}
	if d := now.Sub(ts); d > MaxSkew || d < -MaxSkew {
		return callbackError("the request's timestamp is more than 10 minutes away from now")
	}
	return nil
}

// checkSign checks that q's sign is SignQuery's with appSecret.
func checkSign(appSecret string, q url.Values) error {
	sign := q.Get("sign")
	if sign == "" {
		return callbackError("the request carries no sign")
	}
	if !hmac.Equal([]byte(SignQuery(appSecret, q)), []byte(strings.ToLower(sign))) {
		return callbackError("the request's sign does not match the app secret (a request SHOPLINE did not send, or a client secret that is not the app's)")
	}
	return nil
}
