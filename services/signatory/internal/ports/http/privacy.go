package http

import (
	"context"
	"encoding/json"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/platform"
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
	var asked api.SubjectAccessRequest
	return httpserver.Handle(c, auth.MustFromContext, func(ctx context.Context, by auth.Principal, body api.SubjectAccessRequest) (app.Held, error) {
		asked = body
		var actors []string
		if body.Actors != nil {
			actors = *body.Actors
		}
		if err := platform.CheckActors(actors); err != nil {
			return app.Held{}, err
		}
		return h.app.SubjectAccess(ctx, by, string(body.Email), actors)
	}, func(held app.Held) api.SubjectAccess {
		out := api.SubjectAccess{Email: asked.Email, Organisations: make([]api.HeldBy, 0, len(held.Organisations)), Acted: make([]api.ActedIn, 0, len(held.Acted))}
		for _, o := range held.Acted {
			in := api.ActedIn{Id: o.ID, Name: o.Name, Events: make([]api.HistoryEntry, 0, len(o.Events))}
			for _, e := range o.Events {
				in.Events = append(in.Events, historyEntry(e))
			}
			out.Acted = append(out.Acted, in)
		}
		for _, o := range held.Organisations {
			b := api.HeldBy{Id: o.ID, Name: o.Name, Roles: make([]api.HeldByRoles, 0, len(o.Roles)), Events: make([]api.HistoryEntry, 0, len(o.Events))}
			for _, r := range o.Roles {
				b.Roles = append(b.Roles, api.HeldByRoles(r))
			}
			for _, e := range o.Events {
				b.Events = append(b.Events, historyEntry(e))
			}
			out.Organisations = append(out.Organisations, b)
		}
		return out
	})
}

// historyEntry is an event of the audit trail as the subject access answer gives it.
func historyEntry(e events.Envelope) api.HistoryEntry {
	var data map[string]any
	_ = json.Unmarshal(e.Data, &data)
	return api.HistoryEntry{Id: e.ID, Type: e.Type, Version: e.Version, Time: e.Time, Actor: e.Actor, Data: data}
}
