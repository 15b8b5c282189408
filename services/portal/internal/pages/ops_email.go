package pages

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
	"github.com/itss/techcommit/services/portal/internal/templates"

	notifyapi "github.com/itss/techcommit/services/notify/api"
)

// opsEmailRoutes is the console's email pages: the delivery log, resend, the
// reminders to come, and the dead letters of every service.
func (h *Handler) opsEmailRoutes(ops func(string, opsHandler)) {
	ops("GET /ops/email", h.opsDeliveries)
	ops("POST /ops/email/deliveries/{id}/resend", h.opsResend)
	ops("GET /ops/email/reminders", h.opsReminders)
	ops("GET /ops/dead-letters", h.opsDeadLetters)
	ops("POST /ops/dead-letters/{service}/{seq}/replay", h.opsReplay)
}

type opsDeliveriesData struct {
	Fields     []templates.OpsField
	Deliveries []opsDeliveryRow
	Next       string
	// Of names the organisation the log is filtered to, if it is.
	Of string
	// Resent says what became of an email just sent again, if one was.
	Resent string
}

var opsDeliveryStatuses = opsform.Opts("", "Any", "sent", "Sent", "failed", "Failed (to be retried)", "given_up", "Given up", "sending", "Sending")

var opsOrgIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// opsDeliveryIDPattern is a delivery's identifier, as notify's API gives it.
var opsDeliveryIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// opsDeliveries is notify's delivery log, newest first, by status and organisation.
func (h *Handler) opsDeliveries(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	h.opsShowDeliveries(w, r, c, http.StatusOK, nil)
}

func (h *Handler) opsShowDeliveries(w http.ResponseWriter, r *http.Request, c *opsCtx, status int, errs []templates.FieldError) {
	q := r.URL.Query()
	filter := opsform.Specs{
		{Name: "status", Label: "Status", Type: opsform.Choice, Options: opsDeliveryStatuses},
		{Name: "organisation", Label: "Organisation identifier", Type: opsform.Text, Max: 64,
			Hint: "Follow an organisation's name in the list, or \"Emails sent to this organisation\" on its page, to fill this in."},
	}
	typed, _, ferrs := filter.Parse(q, london)
	org := q.Get("organisation")
	if org != "" && !opsOrgIDPattern.MatchString(org) && !slices.ContainsFunc(ferrs, func(e templates.FieldError) bool { return e.Field == "organisation" }) {
		ferrs = append(ferrs, templates.FieldError{Field: "organisation", Message: "Organisation identifier must be letters, digits, - and _"})
	}
	params := &notifyapi.ListDeliveriesParams{}
	limit := 50
	params.Limit = &limit
	bad := func(f string) bool {
		return slices.ContainsFunc(ferrs, func(e templates.FieldError) bool { return e.Field == f })
	}
	if s := q.Get("status"); s != "" && !bad("status") {
		st := notifyapi.DeliveryStatus(s)
		params.Status = &st
	}
	if org != "" && !bad("organisation") {
		params.OrganisationId = &org
	}
	if cur := q.Get("cursor"); cur != "" {
		if len(cur) >= 200 {
			h.pageGone(w, r)
			return
		}
		params.Cursor = &cur
	}
	resp, err := c.set.Notify.ListDeliveriesWithResponse(r.Context(), params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		if pageRefused(r, p) {
			h.pageGone(w, r)
			return
		}
		if p.Status == http.StatusBadRequest {
			ferrs = append(ferrs, opsRenamed(opsFieldProblems(p, nil), opsform.Specs{{Name: "organisation", API: "organisation_id"}, {Name: "status"}})...)
		} else {
			h.serviceProblem(w, r, p)
			return
		}
	}
	data := opsDeliveriesData{}
	if resp.JSON200 != nil {
		for _, d := range resp.JSON200.Items {
			data.Deliveries = append(data.Deliveries, opsDeliveryRowOf(d))
		}
		if resp.JSON200.NextCursor != nil {
			next := url.Values{"status": {q.Get("status")}, "organisation": {org}, "cursor": {*resp.JSON200.NextCursor}}
			data.Next = "/ops/email?" + next.Encode()
		}
	}
	h.nameDeliveries(r.Context(), c.set, data.Deliveries)
	data.Resent = opsResentNotice(q.Get("resent"), q.Get("result"), data.Deliveries)
	if params.OrganisationId != nil {
		data.Of = opsOrgLabel(h.opsNames(r.Context(), c.set, org), org)
	}
	errs = append(errs, ferrs...)
	data.Fields = filter.Fields(typed, errs)
	if len(ferrs) > 0 && status == http.StatusOK {
		status = http.StatusBadRequest
	}
	h.show(w, r, status, "ops_email", "Email deliveries", errs, data)
}

// opsResend sends a logged email again, composed as of now, once however often the
// same form is sent (a double click sent the person the email twice).
func (h *Handler) opsResend(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	id := r.PathValue("id")
	key := opsFormKey(r)
	resp, err := c.set.Notify.CreateDeliveryResendWithResponse(r.Context(), id, &notifyapi.CreateDeliveryResendParams{IdempotencyKey: &key})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		if opsFormRefusal(p) {
			h.opsShowDeliveries(w, r, c, p.Status, []templates.FieldError{{Message: "The email was not resent: " + p.Detail}})
			return
		}
		h.serviceProblem(w, r, p)
		return
	}
	// The log says what became of it: the delivery may be pages down the log, which
	// lists by when it was first made, and the person pressed a button in a table.
	back := url.Values{"resent": {id}}
	if resp.JSON200 != nil {
		back.Set("result", string(resp.JSON200.Status))
	}
	http.Redirect(w, r, "/ops/email?"+back.Encode(), http.StatusSeeOther)
}

// opsResentNotice is what the log says of the email resent with this id, ending with
// result, the delivery's status after the attempt ("" when the address carries none
// the log knows).
func opsResentNotice(id, result string, rows []opsDeliveryRow) string {
	words := map[notifyapi.DeliveryStatus]string{
		notifyapi.Sent:    "it was delivered to the mail server.",
		notifyapi.Sending: "it is being handed to the mail server.",
		notifyapi.Failed:  "the attempt failed, and will be retried.",
		notifyapi.GivenUp: "the attempt failed, and will not be retried.",
	}[notifyapi.DeliveryStatus(result)]
	if words == "" || !opsDeliveryIDPattern.MatchString(id) {
		return ""
	}
	what := "The email"
	for _, d := range rows {
		if d.ID == id {
			what = "\u201c" + d.Subject + "\u201d"
		}
	}
	return what + " was sent again: " + words
}

type opsReminderRow struct {
	On, Org, Subject, Step, To string
}

type opsRemindersData struct {
	Rows []opsReminderRow
	Next string
}

// opsReminders is notify's reminders to come, a page of 50 at a time (the soonest
// first): a page of 200 made the page's cost grow with the organisations.
func (h *Handler) opsReminders(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	limit := opsPageSize
	params := &notifyapi.PreviewRemindersParams{Limit: &limit}
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		if len(cur) >= 200 {
			h.pageGone(w, r)
			return
		}
		params.Cursor = &cur
	}
	resp, err := c.set.Notify.PreviewRemindersWithResponse(r.Context(), params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	var data opsRemindersData
	for _, it := range resp.JSON200.Items {
		row := opsReminderRow{Org: opsDeref(it.OrganisationName), Subject: opsDeref(it.Subject)}
		if it.On != nil {
			row.On = longDate(it.On.Time)
		}
		if it.Step != nil {
			row.Step = string(*it.Step)
		}
		if it.To != nil {
			var to []string
			for _, p := range *it.To {
				if p.Erased != nil && *p.Erased {
					to = append(to, personal.ErasedName)
					continue
				}
				to = append(to, opsDeref(p.Name))
			}
			row.To = strings.Join(to, ", ")
		}
		data.Rows = append(data.Rows, row)
	}
	if resp.JSON200.NextCursor != nil {
		data.Next = "/ops/email/reminders?" + url.Values{"cursor": {*resp.JSON200.NextCursor}}.Encode()
	}
	h.show(w, r, http.StatusOK, "ops_reminders", "Reminders to come", nil, data)
}

func opsDeref[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

type opsDeadLetterRow struct {
	Service, Consumer, EventType, Subject, Reason, Time string
	Sequence                                            uint64
	Deliveries                                          int
}

type opsDeadLettersData struct {
	Letters     []opsDeadLetterRow
	Unavailable []string
	// Replayed says which dead letter was just replayed, if one was.
	Replayed string
}

// opsReplayedNotice is what the list says of the dead letter just replayed, named
// "service/sequence" in its address ("" when that names none).
func opsReplayedNotice(replayed string) string {
	svc, n, ok := strings.Cut(replayed, "/")
	seq, err := strconv.ParseUint(n, 10, 64)
	if !ok || err != nil || !slices.Contains(clients.ServiceNames, svc) {
		return ""
	}
	return fmt.Sprintf("Dead letter %d of %s was replayed, and removed.", seq, svc)
}

// opsDeadLetters lists every service's dead letters with the reason each was given up.
func (h *Handler) opsDeadLetters(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	h.opsShowDeadLetters(w, r, c, http.StatusOK, nil)
}

// opsLetterPart is one part's dead letters: a service's, or the portal's own.
// Err says the part did not answer, and then Rows is empty.
type opsLetterPart struct {
	Service string
	Rows    []opsDeadLetterRow
	Err     error
}

// opsReadDeadLetters reads every part's dead letters at once: the services' in the
// order of clients.ServiceNames, then the portal's own consumers' (its people,
// reviewers' saved copies, erasures), which the alert counts with the rest, when
// the portal has them. Each read is kept apart, so that the parts are in the same
// order however the calls finish: asked one after another, a service that hung
// spent the page's deadline, and every part asked after it was named unavailable.
func (h *Handler) opsReadDeadLetters(ctx context.Context, subject string) []opsLetterPart {
	dl := h.clients.DeadLettersFor(auth.Principal{Subject: subject, Role: auth.RoleOps})
	parts := make([]opsLetterPart, len(clients.ServiceNames), len(clients.ServiceNames)+1)
	if h.letters != nil {
		parts = append(parts, opsLetterPart{Service: portalLetters})
	}
	var wg sync.WaitGroup
	for i, svc := range clients.ServiceNames {
		parts[i].Service = svc
		wg.Go(func() {
			page, err := dl.List(ctx, svc, "")
			if err != nil {
				parts[i].Err = err
				return
			}
			for _, l := range page.Items {
				parts[i].Rows = append(parts[i].Rows, opsDeadLetterRow{Service: svc, Consumer: l.Consumer, EventType: l.EventType, Subject: l.Subject,
					Reason: l.Reason, Time: longTime(l.Time), Sequence: l.Sequence, Deliveries: l.Deliveries})
			}
		})
	}
	if h.letters != nil {
		own := &parts[len(parts)-1]
		wg.Go(func() {
			page, err := h.letters.List(ctx, 0, 200)
			if err != nil {
				own.Err = err
				return
			}
			for _, l := range page.Items {
				own.Rows = append(own.Rows, opsDeadLetterRow{Service: portalLetters, Consumer: l.Consumer, EventType: l.EventType, Subject: l.Subject,
					Reason: l.Reason, Time: longTime(l.Time), Sequence: l.Sequence, Deliveries: l.Deliveries})
			}
		})
	}
	wg.Wait()
	return parts
}

func (h *Handler) opsShowDeadLetters(w http.ResponseWriter, r *http.Request, c *opsCtx, status int, errs []templates.FieldError) {
	var data opsDeadLettersData
	for _, part := range h.opsReadDeadLetters(r.Context(), c.subject) {
		if part.Err != nil {
			h.logger.WarnContext(r.Context(), "dead letters unavailable", "service", part.Service, "error", part.Err)
			data.Unavailable = append(data.Unavailable, opsHumanise(part.Service))
			continue
		}
		data.Letters = append(data.Letters, part.Rows...)
	}
	data.Replayed = opsReplayedNotice(r.URL.Query().Get("replayed"))
	h.show(w, r, status, "ops_deadletters", "Dead letters", errs, data)
}

// opsReplay hands a dead letter back to its consumer. When it fails again, the
// page says why and the letter stays.
func (h *Handler) opsReplay(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	svc := r.PathValue("service")
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	ours := svc == portalLetters && h.letters != nil
	if err != nil || !(ours || slices.Contains(clients.ServiceNames, svc)) {
		h.notFound(w, r)
		return
	}
	if ours {
		err = h.replayOwn(r.Context(), seq)
	} else {
		_, err = h.clients.DeadLettersFor(auth.Principal{Subject: c.subject, Role: auth.RoleOps}).Replay(r.Context(), svc, seq)
	}
	var p *clients.Problem
	switch {
	case err == nil:
		// Said on the list it leads back to: the row has gone, and the focus with it.
		back := url.Values{"replayed": {svc + "/" + strconv.FormatUint(seq, 10)}}
		http.Redirect(w, r, "/ops/dead-letters?"+back.Encode(), http.StatusSeeOther)
	case errors.As(err, &p) && p.Status == http.StatusNotFound:
		// Its button pressed twice, or by a colleague too: the first replay handled
		// and removed it, which "was not replayed" would deny.
		h.opsShowDeadLetters(w, r, c, p.Status, []templates.FieldError{{Message: fmt.Sprintf("Dead letter %d of %s is no longer waiting: it was replayed "+
			"(perhaps by a first press of its button, or by a colleague) or removed. The list below is as it stands now.", seq, svc)}})
	case errors.As(err, &p) && p.Status == http.StatusConflict:
		h.opsShowDeadLetters(w, r, c, p.Status, []templates.FieldError{{Message: fmt.Sprintf("Dead letter %d of %s was not replayed: %s", seq, svc, p.Detail)}})
	case errors.As(err, &p):
		h.serviceProblem(w, r, p)
	default:
		h.fail(w, r, err)
	}
}

// portalLetters names the portal's own dead letters on the console's page and in
// their replay's address, beside the services'.
const portalLetters = "portal"

// replayOwn replays one of the portal's own dead letters, its refusal said as a
// service's would be (a Problem with its status), so that the page says it alike.
func (h *Handler) replayOwn(ctx context.Context, seq uint64) error {
	_, err := h.letters.Replay(ctx, seq)
	e, ok := apperr.As(err)
	if !ok {
		return err
	}
	return &clients.Problem{Status: httpserver.Status(e.Code), Detail: e.Message}
}
