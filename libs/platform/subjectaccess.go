package platform

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/personal"
)

// PathSubjectAccess is where a service answers a subject access request.
const PathSubjectAccess = "/v1/ops/subject-access"

// subjectAccess is the answer: the events of the service's log that name the person
// or that they made, and every other document of its database that holds the
// address, each as plain JSON (see shapeSubjectAccess).
type subjectAccess struct {
	Email   string            `json:"email"`
	Events  []heldEvent       `json:"events"`
	Records []personal.Record `json:"records"`
}

// heldEvent is one event of the service's log as a subject access answer gives it:
// what happened (its type and payload, opened, anyone else it names shown as another
// person), to what (the aggregate), when, and by whom, as the services' histories
// give an event.
type heldEvent struct {
	ID            string    `json:"id"`
	Type          string    `json:"type"`
	AggregateType string    `json:"aggregate_type"`
	AggregateID   string    `json:"aggregate_id"`
	Version       int       `json:"version"`
	Time          time.Time `json:"time"`
	Actor         string    `json:"actor,omitempty"`
	Data          any       `json:"data"`
}

// eventsCollection is the event log's collection (see New); its heads and outbox
// hold copies of its commits.
const eventsCollection = "events"

// shapeSubjectAccess makes the documents Gather found the answer a person reads:
// each commit of the event log (in the log, or copied into its heads or outbox) given
// as its events, once each, in the order they happened, without the store's own
// fields (the commit's key, its id, the trace of the request that wrote it); and
// every other document as plain JSON (personal.Plain) without its key, which the
// record gives as its id. What the answer holds is what was found, nothing more.
func shapeSubjectAccess(email string, found []personal.Record) subjectAccess {
	out := subjectAccess{Email: email, Events: []heldEvent{}, Records: []personal.Record{}}
	seen := map[string]bool{}
	for _, r := range found {
		var commits []any
		switch r.Collection {
		case eventsCollection:
			commits = []any{r.Document}
		case eventsCollection + "_heads":
			commits, _ = r.Document["commits"].([]any)
		case eventsCollection + "_outbox":
			if c, ok := r.Document["commit"]; ok {
				commits = []any{c}
			}
		}
		if commits == nil {
			out.Records = append(out.Records, personal.PlainRecord(r))
			continue
		}
		for _, c := range commits {
			commit, _ := personal.Plain(c).(map[string]any)
			evs, _ := commit["events"].([]any)
			for _, e := range evs {
				ev, _ := e.(map[string]any)
				id, _ := ev["id"].(string)
				if ev == nil || seen[id] {
					continue
				}
				seen[id] = true
				h := heldEvent{ID: id, Data: ev["data"]}
				if at, ok := commit["time"].(string); ok {
					h.Time, _ = time.Parse(time.RFC3339Nano, at)
				}
				h.Type, _ = ev["type"].(string)
				h.AggregateType, _ = commit["aggregate_type"].(string)
				h.AggregateID, _ = commit["aggregate_id"].(string)
				h.Version = intOf(ev["version"])
				// An event of a combined commit keeps its own command's actor.
				if h.Actor, _ = ev["actor"].(string); h.Actor == "" {
					h.Actor, _ = commit["actor"].(string)
				}
				out.Events = append(out.Events, h)
			}
		}
	}
	slices.SortStableFunc(out.Events, func(a, b heldEvent) int {
		return a.Time.Compare(b.Time) // those of one moment as the log holds them
	})
	return out
}

// intOf is a JSON number as an int (0 when it is none).
func intOf(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}

// ServeSubjectAccess answers POST /v1/ops/subject-access {"email", "actors"} (ops
// only) with every document of the service's database that holds the address
// (personal.Gather) or records a change made by one of the actors (the commits the
// person made, which name them by no address), the event log's as its events and
// the others' as plain JSON (shapeSubjectAccess),
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
		return c.JSON(http.StatusOK, shapeSubjectAccess(body.Email, records))
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
