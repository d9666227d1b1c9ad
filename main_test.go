package connector_test

import (
	"testing"

	"github.com/connector-go/connector/internal/testenv"
)

// TestMain runs the package's tests, then says in one line which services
// (PostgreSQL, Redis) were absent here and skipped.
func TestMain(m *testing.M) { testenv.Main(m) }
