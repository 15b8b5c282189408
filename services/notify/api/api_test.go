package api_test

import (
	"testing"

	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/notify/api"
)

// Every string the contract names says what it may hold: people's text is format
// line or text with a maxLength, addresses are emails, the rest enums or anchored
// patterns.
func TestEveryStringInTheContractIsConstrained(t *testing.T) {
	t.Parallel()
	loose, err := httpserver.UnconstrainedStrings(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, where := range loose {
		t.Errorf("unconstrained string: %s", where)
	}
}
