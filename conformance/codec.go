package conformance

import (
	"encoding/json"

	"github.com/connector-go/connector/driver"
)

// decodeToken decodes a token as the engine seals it.
func decodeToken(plain []byte) (*driver.Token, error) {
	var t driver.Token
	err := json.Unmarshal(plain, &t)
	return &t, err
}
