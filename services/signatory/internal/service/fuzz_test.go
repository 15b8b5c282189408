package service_test

import (
	"net/http"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/signatory/api"
)

// FuzzRequests sends arbitrary bodies to every operation that takes one, about an
// organisation that exists, so that bodies reach the handlers' decoders and the
// domain's rules: see testenv.FuzzRequests.
func FuzzRequests(f *testing.F) {
	h := start(f)
	id := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", h.Token(auth.RoleOps, ""), enquiry)).JSON(f)["id"].(string)
	testenv.FuzzRequests(f, h.Client, api.Spec, func(string) string { return id })
}
