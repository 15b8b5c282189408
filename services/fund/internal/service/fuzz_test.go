package service_test

import (
	"testing"

	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/api"
)

// FuzzRequests sends arbitrary bodies to every operation that takes one: see
// testenv.FuzzRequests. (FuzzApplicationRequestOverTheContract in ports/http goes
// deeper into the application request, the one applicants send.)
func FuzzRequests(f *testing.F) {
	h := start(f)
	testenv.FuzzRequests(f, h.Client, api.Spec, func(string) string { return "" })
}
