package platform

import (
	"fmt"
	"net/http"
	"strings"

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

// ServeSubjectAccess answers POST /v1/ops/subject-access {"email", "actors"} (ops
// only) with every document of the service's database that holds the address
// (personal.Gather) or records a change made by one of the actors (the commits the
// person made, which name them by no address),
// for a service that has no more particular answer of its own. The service's OpenAPI
// document describes the route (tag operations), so it is validated and authorised
// like any other. See docs/PRIVACY.md.
func (p *Platform) ServeSubjectAccess() {
	p.HTTP.Echo().POST(PathSubjectAccess, func(c httpserver.Context) error {
		var body struct {
			Email string `json:"email"`
			// Actors are how the services record the person as the actor of what
			// they changed (a lead's pseudonyms, an ITSS staff member's OpenID
			// subject), which only the portal can tell from the address.
			Actors []string `json:"actors"`
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
		if err := CheckActors(body.Actors); err != nil {
			return err
		}
		records, err := personal.GatherActing(c.Request().Context(), p.DB, body.Email, body.Actors, p.sealer)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, subjectAccess{Email: body.Email, Records: records})
	})
}

// CheckActors refuses actors that are not as the services record them: "role:subject",
// both parts present, one of the roles that act through the portal.
func CheckActors(actors []string) error {
	for i, a := range actors {
		role, subject, ok := strings.Cut(a, ":")
		if !ok || subject == "" || (role != string(auth.RoleLead) && role != string(auth.RoleOps)) {
			return apperr.Field(fmt.Sprintf("actors.%d", i), "must be lead:<pseudonym> or ops:<OpenID subject>, as the services record who acted")
		}
	}
	return nil
}
