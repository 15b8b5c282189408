package platform

import (
	"net/http"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/personal"
)

// PathSubjectAccess is where a service answers a subject access request.
const PathSubjectAccess = "/v1/ops/subject-access"

// subjectAccess is the answer: every document of the service's database that holds
// the address, as stored.
type subjectAccess struct {
	Email   string            `json:"email"`
	Records []personal.Record `json:"records"`
}

// ServeSubjectAccess answers POST /v1/ops/subject-access {"email"} (ops only) with
// every document of the service's database that holds the address (personal.Gather),
// for a service that has no more particular answer of its own. The service's OpenAPI
// document describes the route (tag operations), so it is validated and authorised
// like any other. See docs/PRIVACY.md.
func (p *Platform) ServeSubjectAccess() {
	p.HTTP.Echo().POST(PathSubjectAccess, func(c httpserver.Context) error {
		var body struct {
			Email string `json:"email"`
		}
		if err := httpserver.Decode(c, &body); err != nil {
			return err
		}
		by, err := auth.MustFromContext(c.Request().Context())
		if err != nil {
			return err
		}
		if !by.IsOps() {
			return apperr.New(apperr.Forbidden, "only ITSS operations staff answer subject access requests")
		}
		if body.Email == "" {
			return apperr.Field("email", "is required")
		}
		records, err := personal.GatherOpened(c.Request().Context(), p.DB, body.Email, p.sealer)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, subjectAccess{Email: body.Email, Records: records})
	})
}
