package http

import (
	"context"
	"encoding/json"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/signatory/api"
	"github.com/itss/techcommit/services/signatory/internal/app"
)

// ErasePerson erases a person at their request (docs/PRIVACY.md).
func (h *Handlers) ErasePerson(c httpserver.Context, _ api.ErasePersonParams) error {
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.PersonAddress) (app.Erased, error) {
		return h.app.Erase(ctx, by, string(body.Email))
	}, func(done app.Erased) api.Erasure {
		out := api.Erasure{Organisations: make([]api.ErasedFrom, 0, len(done.Organisations))}
		for _, o := range done.Organisations {
			out.Organisations = append(out.Organisations, api.ErasedFrom{Id: o.ID, NeedsNominatedLead: o.NeedsNominatedLead})
		}
		return out
	})
}

// SubjectAccess gathers what the service holds about a person (docs/PRIVACY.md).
func (h *Handlers) SubjectAccess(c httpserver.Context) error {
	var email api.PersonAddress
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.PersonAddress) (app.Held, error) {
		email = body
		return h.app.SubjectAccess(ctx, by, string(body.Email))
	}, func(held app.Held) api.SubjectAccess {
		out := api.SubjectAccess{Email: email.Email, Organisations: make([]api.HeldBy, 0, len(held.Organisations))}
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
		return out
	})
}
