package http

import (
	"encoding/json"
	"net/http"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/signatory/api"
)

// ErasePerson erases a person at their request (docs/PRIVACY.md).
func (h *Handlers) ErasePerson(c httpserver.Context) error {
	var body api.PersonAddress
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	done, err := h.app.Erase(c.Request().Context(), by, string(body.Email))
	if err != nil {
		return err
	}
	out := api.Erasure{Organisations: make([]api.ErasedFrom, 0, len(done.Organisations))}
	for _, o := range done.Organisations {
		out.Organisations = append(out.Organisations, api.ErasedFrom{Id: o.ID, NeedsNominatedLead: o.NeedsNominatedLead})
	}
	return c.JSON(http.StatusOK, out)
}

// SubjectAccess gathers what the service holds about a person (docs/PRIVACY.md).
func (h *Handlers) SubjectAccess(c httpserver.Context) error {
	var body api.PersonAddress
	if err := httpserver.Decode(c, &body); err != nil {
		return err
	}
	by, err := auth.MustFromContext(c.Request().Context())
	if err != nil {
		return err
	}
	held, err := h.app.SubjectAccess(c.Request().Context(), by, string(body.Email))
	if err != nil {
		return err
	}
	out := api.SubjectAccess{Email: body.Email, Organisations: make([]api.HeldBy, 0, len(held.Organisations))}
	for _, o := range held.Organisations {
		b := api.HeldBy{Id: o.ID, Name: o.Name, Roles: make([]api.HeldByRoles, 0, len(o.Roles)), Events: make([]api.HistoryEntry, 0, len(o.Events))}
		for _, r := range o.Roles {
			b.Roles = append(b.Roles, api.HeldByRoles(r))
		}
		for _, e := range o.Events {
			var data map[string]any
			_ = json.Unmarshal(e.Data, &data)
			b.Events = append(b.Events, api.HistoryEntry{Id: e.ID, Type: e.Type, Version: e.Version, Time: e.Time, Actor: e.Actor, Data: data})
		}
		out.Organisations = append(out.Organisations, b)
	}
	return c.JSON(http.StatusOK, out)
}
