package pages

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/templates"
)

// A reviewer's declared conflicts must each name an organisation announced with the
// Commitment, which the review service checks only once the form has no other
// problem. So that a form with other problems tells this one with them, the portal
// asks the signatory service itself, then; and whichever tells it, it says what to
// type, not which service holds the identifiers.

// opsConflictMessage is what the pool form says of a declared conflict that names
// no organisation announced with the Commitment.
func opsConflictMessage(id string) string {
	return "Declared conflicts must be organisations announced with the Technician Commitment: “" + id +
		"” is not the identifier of one. Type the identifier each organisation's page shows, one a line"
}

// opsUnannouncedConflict adds to errs the first of the typed conflicts that names
// no organisation announced with the Commitment, asking the signatory service, when
// errs already has a problem (the review service is not asked then) and none is on
// the conflicts.
func (h *Handler) opsUnannouncedConflict(ctx context.Context, set *clients.Set, body map[string]any, errs []templates.FieldError) ([]templates.FieldError, error) {
	conflicts, _ := body["conflicts"].([]string)
	if len(errs) == 0 || len(conflicts) == 0 {
		return errs, nil
	}
	for _, e := range errs {
		if e.Field == "conflicts" {
			return errs, nil
		}
	}
	for _, id := range conflicts {
		resp, err := set.Signatory.GetOrganisationWithResponse(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("look up conflict %s: %w", id, err)
		}
		if resp.StatusCode() == http.StatusNotFound || (resp.JSON200 != nil && resp.JSON200.AnnouncedOn == nil) {
			return append(errs, templates.FieldError{Field: "conflicts", Message: opsConflictMessage(id)}), nil
		}
		if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
			return nil, fmt.Errorf("look up conflict %s: %d %s", id, p.Status, p.Detail)
		}
	}
	return errs, nil
}

// opsConflictsWorded puts the review service's refusals of declared conflicts
// (conflicts.N, each naming no announced organisation) in the pool form's words.
func opsConflictsWorded(errs []templates.FieldError, body map[string]any) []templates.FieldError {
	conflicts, _ := body["conflicts"].([]string)
	for i, e := range errs {
		n, err := strconv.Atoi(strings.TrimPrefix(e.Field, "conflicts."))
		if strings.HasPrefix(e.Field, "conflicts.") && err == nil && n >= 0 && n < len(conflicts) {
			errs[i].Message = opsConflictMessage(conflicts[n])
		}
	}
	return errs
}
