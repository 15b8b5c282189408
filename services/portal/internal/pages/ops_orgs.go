package pages

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/form"
	"github.com/itss/techcommit/services/portal/internal/pages/opsform"
	"github.com/itss/techcommit/services/portal/internal/templates"

	sigapi "github.com/itss/techcommit/services/signatory/api"
)

type opsOrgsData struct {
	Filter form.Directory
	Status string
	Orgs   []opsOrgRow
	Fields []templates.OpsField
	// Export is the address of the CSV of the organisations the filters select,
	// built whole here: html/template escapes a query written into an href after
	// "?" as one value, and the export then saw no filter and gave every one.
	Export string
	Page   opsCursorPager
}

var opsOrgStatuses = opsform.Opts("", "Any", "enquiry", "Enquiry", "meeting_held", "Meeting held", "form_received", "Form received",
	"announced", "Announced", "withdrawn", "Withdrawn")

// opsOrganisations lists organisations by status, kind and a part of their name
// (the service's filters), 50 a page.
func (h *Handler) opsOrganisations(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	q := r.URL.Query()
	f, errs := form.ParseDirectory(url.Values{"name": {q.Get("q")}, "kind": {q.Get("kind")}, "cursor": {q.Get("cursor")}})
	for i := range errs {
		switch errs[i].Field {
		case "cursor":
			h.pageGone(w, r)
			return
		case "name":
			errs[i].Field = "q"
		}
	}
	// A name that cannot be searched for is shown beside its field, and not searched.
	search := f.Name
	if slices.ContainsFunc(errs, func(e templates.FieldError) bool { return e.Field == "q" }) {
		search = ""
	}
	status := q.Get("status")
	if !slices.ContainsFunc(opsOrgStatuses, func(o templates.OpsOption) bool { return o.Value == status }) {
		errs = append(errs, templates.FieldError{Field: "status", Message: "Select a status from the list"})
		status = ""
	}
	data := opsOrgsData{Filter: f, Status: status}
	filter := opsform.Specs{
		{Name: "q", Label: "Name contains", Type: opsform.Text},
		{Name: "status", Label: "Status", Type: opsform.Choice, Options: opsOrgStatuses},
		{Name: "kind", Label: "Kind", Type: opsform.Choice, Options: opsform.Opts("", "Any", "signatory", "Signatory", "supporter", "Supporter")},
	}
	data.Fields = filter.Fields(opsform.Values{"q": {f.Name}, "status": {status}, "kind": {f.Kind}}, errs)
	var st *sigapi.Status
	if status != "" {
		s := sigapi.Status(status)
		st = &s
	}
	var kind *sigapi.Kind
	if f.Kind != "" {
		k := sigapi.Kind(f.Kind)
		kind = &k
	}
	// One page from the signatory service, which says how many match: the page read
	// every organisation of its filters (up to a thousand, and no more) to show 50.
	size := opsPageSize
	params := &sigapi.ListOrganisationsParams{Status: st, Kind: kind, Limit: &size}
	if search != "" {
		params.Name = &search
	}
	if f.Cursor != "" {
		params.Cursor = &f.Cursor
	}
	resp, err := c.set.Signatory.ListOrganisationsWithResponse(r.Context(), params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	for _, o := range resp.JSON200.Items {
		data.Orgs = append(data.Orgs, opsOrgRowOf(o))
	}
	filters := url.Values{"q": {search}, "status": {status}, "kind": {f.Kind}}
	data.Export = "/ops/organisations.csv?" + filters.Encode()
	data.Page = opsCursorPage("/ops/organisations", filters, q, f.Cursor, len(data.Orgs), resp.JSON200.Total, resp.JSON200.NextCursor)
	status200 := http.StatusOK
	if len(errs) > 0 {
		status200 = http.StatusBadRequest
	}
	h.show(w, r, status200, "ops_orgs", "Organisations", errs, data)
}

// opsFailed shows a service's refusal, or fails.
func (h *Handler) opsFailed(w http.ResponseWriter, r *http.Request, err error) {
	var p *clients.Problem
	if opsAsProblem(err, &p) {
		h.serviceProblem(w, r, p)
		return
	}
	h.fail(w, r, err)
}

type opsOrgData struct {
	Org         sigapi.Organisation
	Kind        string
	Status      string
	Steps       []opsStepLink
	Contacts    []opsContactRow
	Obligations []obligationRow
	History     []opsHistoryRow
	NextHistory string
	// Dates are the onboarding's days, then a withdrawal's day and its reason.
	Dates []opsSummaryRow
	// AddReviewer adds a technician of this organisation to the reviewer pool, when
	// it may have them there: an announced signatory.
	AddReviewer string
	// Done says which step was just saved, when the page follows one.
	Done string
	// Succeeds is the record this organisation succeeds (it withdrew and signed again
	// as this one), SucceededBy the record that succeeds this one: each links to the
	// other's page.
	Succeeds, SucceededBy *opsRecordLink
}

// opsRecordLink is another record of the same organisation: its page, its name and
// what the record says of it.
type opsRecordLink struct{ Path, Name, Note string }

type opsStepLink struct{ Path, Text string }

type opsContactRow struct{ Role, Name, Title, Email string }

type opsSummaryRow struct{ Label, Value string }

type opsHistoryRow struct {
	Time, What, Who string
	Version         int
}

// opsOrganisation is one organisation in full: its stage and the next steps, its
// contacts, its obligations and its history (who did what, when).
func (h *Handler) opsOrganisation(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	ctx := r.Context()
	id := r.PathValue("org")
	resp, err := c.set.Signatory.GetOrganisationWithResponse(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	o := *resp.JSON200
	data := opsOrgData{Org: o, Kind: opsHumanise(string(o.Kind)), Status: opsHumanise(string(o.Status))}
	if step, ok := opsStepOf(r.URL.Query().Get("done")); ok {
		data.Done = step.done
	}
	day := func(label string, t time.Time) { data.Dates = append(data.Dates, opsSummaryRow{label, longDate(t)}) }
	if o.EnquiredOn != nil {
		day("Enquiry received", o.EnquiredOn.Time)
	}
	if o.MeetingHeldOn != nil {
		day("Meeting held", o.MeetingHeldOn.Time)
	}
	if o.FormSignedOn != nil {
		day("Form signed", o.FormSignedOn.Time)
	}
	if o.AnnouncedOn != nil {
		day("Announced", o.AnnouncedOn.Time)
	}
	if o.WithdrawnOn != nil {
		day("Withdrawn", o.WithdrawnOn.Time)
	}
	if o.WithdrawalReason != nil {
		data.Dates = append(data.Dates, opsSummaryRow{"Reason for withdrawal", *o.WithdrawalReason})
	}
	if o.Succeeds != nil {
		data.Succeeds = h.opsRecord(r, c, *o.Succeeds)
	}
	if o.SucceededBy != nil {
		data.SucceededBy = h.opsRecord(r, c, *o.SucceededBy)
	}
	if o.Kind == sigapi.Signatory && o.Status == sigapi.Announced {
		data.AddReviewer = "/ops/review/reviewers/new?" + url.Values{"organisation_id": {o.Id}}.Encode()
	}
	for _, s := range opsOnboardingSteps {
		if s.next(o.Status) && (s.offered == nil || s.offered(o)) {
			data.Steps = append(data.Steps, opsStepLink{Path: "/ops/organisations/" + o.Id + "/" + s.slug, Text: s.link})
		}
	}
	person := func(role string, p *sigapi.Person) {
		if p != nil {
			row := opsContactRow{Role: role, Name: p.Name, Email: string(p.Email)}
			if p.Title != nil {
				row.Title = *p.Title
			}
			data.Contacts = append(data.Contacts, row)
		}
	}
	person("Enquiry contact", o.EnquiryContact)
	person("Leader", o.Leader)
	person("Nominated lead", o.NominatedLead)
	if pc := o.PointOfContact; pc != nil {
		row := opsContactRow{Role: "Public point of contact", Name: pc.Name}
		if pc.Title != nil {
			row.Title = *pc.Title
		}
		if pc.Email != nil {
			row.Email = string(*pc.Email)
		}
		data.Contacts = append(data.Contacts, row)
	}
	limit := 200
	obs, err := c.set.Signatory.ListObligationsWithResponse(ctx, id, &sigapi.ListObligationsParams{Limit: &limit})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(obs.HTTPResponse, obs.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	for _, ob := range obs.JSON200.Items {
		data.Obligations = append(data.Obligations, obligationRowOn(ob, londonDay(h.clock.Now())))
	}
	params := &sigapi.GetHistoryParams{Limit: &limit}
	if cur := r.URL.Query().Get("history"); cur != "" {
		params.Cursor = &cur
	}
	hist, err := c.set.Signatory.GetHistoryWithResponse(ctx, id, params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(hist.HTTPResponse, hist.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	actors := make([]string, 0, len(hist.JSON200.Items))
	for _, e := range hist.JSON200.Items {
		actors = append(actors, e.Actor)
	}
	who := h.opsActorNames(r, actors, c.subject)
	named := func(id string) string {
		if l := data.Succeeds; l != nil && id != "" && l.Path == "/ops/organisations/"+id && l.Name != id {
			if l.Note != "" {
				return l.Name + " (" + l.Note + ")"
			}
			return l.Name
		}
		return ""
	}
	for _, e := range hist.JSON200.Items {
		data.History = append(data.History, opsHistoryRow{Time: longTime(e.Time), What: opsEventText(e.Type) + opsEventDetail(e.Type, e.Data, named), Who: who(e.Actor), Version: e.Version})
	}
	if hist.JSON200.NextCursor != nil {
		data.NextHistory = "/ops/organisations/" + id + "?" + url.Values{"history": {*hist.JSON200.NextCursor}}.Encode()
	}
	h.show(w, r, http.StatusOK, "ops_org", o.Name, nil, data)
}

// opsEventText names an event of the history: "tc.signatory.organisation.announced.v1"
// reads "Organisation announced".
func opsEventText(typ string) string {
	parts := strings.Split(typ, ".")
	if len(parts) >= 2 && strings.HasPrefix(parts[len(parts)-1], "v") {
		parts = parts[:len(parts)-1]
	}
	if len(parts) >= 2 {
		parts = parts[len(parts)-2:]
	}
	return opsHumanise(strings.Join(parts, " "))
}

// opsEventDetail is what the history says of a correction besides its name, and of
// the obligation a correction moves: from what to what, so that ITSS can see what was
// corrected and when without reading the event ("Organisation announcement
// corrected" alone said neither). Other events say nothing more; a field missing or
// of another shape is left out.
//
// A record named by its identifier (the one a succession names) is said by name,
// through named, when the page knows it: "succeeds organisation 01a251e8-e5fb-..."
// told ITSS nothing it could read.
func opsEventDetail(typ string, data map[string]any, named func(id string) string) string {
	text := func(k string) string { s, _ := data[k].(string); return s }
	day := func(k string) string {
		d, err := time.Parse(time.DateOnly, text(k))
		if err != nil {
			return ""
		}
		return longDate(d)
	}
	parts := []string{}
	add := func(format string, ks ...string) {
		args := make([]any, len(ks))
		for i, k := range ks {
			if strings.HasPrefix(k, "day:") {
				args[i] = day(strings.TrimPrefix(k, "day:"))
			} else {
				args[i] = text(k)
			}
			if args[i] == "" {
				return
			}
		}
		parts = append(parts, fmt.Sprintf(format, args...))
	}
	switch typ {
	case events.OrganisationAnnouncementCorrectedV1{}.EventType():
		add("announced on %s, not %s", "day:announced_on", "day:previous_announced_on")
		add("due on %s, not %s", "day:due", "day:previous_due")
	case events.OrganisationMeetingCorrectedV1{}.EventType():
		add("met on %s, not %s", "day:held_on", "day:previous_held_on")
	case events.OrganisationFormCorrectedV1{}.EventType():
		add("form signed on %s, not %s", "day:signed_on", "day:previous_signed_on")
	case events.OrganisationDetailsCorrectedV1{}.EventType():
		add("named %s", "name")
		add("website %s", "website")
	case events.OrganisationSuccessionRecordedV1{}.EventType():
		if name := named(text("succeeds")); name != "" {
			parts = append(parts, "succeeds the record of "+name)
		} else {
			add("succeeds organisation %s", "succeeds")
		}
	case events.ObligationScheduledV1{}.EventType():
		add("window opens %s, due on %s", "day:window_opens", "day:due")
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}

// opsWithdrawalIntro says what recording a withdrawal does across the suite (README,
// "Withdrawal"), before it is done: the signatory service has no way back from it.
const opsWithdrawalIntro = "A withdrawal cannot be undone. Once it is recorded, the organisation leaves the directory, " +
	"can no longer submit or apply to the Collaboration Fund, and its reminders stop. Its fund applications not yet decided are withdrawn " +
	"and their applicants emailed (an award stays, its report still due); the reviewers of a submission of its in an open review round " +
	"who have not yet reviewed it are taken off it, and told."

// opsSuccessionIntro says what recording the record an organisation succeeds does,
// and that it is for good, before it is done.
const opsSuccessionIntro = "For an organisation that withdrew and has signed again as this record, when its announcement did not name the earlier one. " +
	"From then on the two are one organisation to the Collaboration Fund's exclusion of the previous round's grantees and to reviewers' conflicts. " +
	"A record succeeds one other, and this cannot be changed once recorded."

// opsDetailsIntro says what correcting an organisation's details does, before it is
// done.
const opsDetailsIntro = "For a slip in what the enquiry recorded, an institution renamed or a website moved. " +
	"The public directory shows the name and website at once, and the emails and pages of the Technician Commitment name the organisation so from then on. " +
	"The kind cannot be corrected: it set the obligations' clocks. A record of the wrong kind is withdrawn and the organisation recorded again."

// opsAnnouncementCorrectionIntro says what correcting the announcement's date does,
// before it is done.
const opsAnnouncementCorrectionIntro = "For an announcement recorded with the wrong date. The first obligation's window and due date count from it, " +
	"and move with it: its reminders and calendar entries follow, and the nominated lead and the head are emailed the deadline from what to what. " +
	"It can be corrected until the first submission is in; from then the deadlines count from that submission."

// opsMeetingCorrectionIntro says what correcting the meeting's day does, before it is
// done.
const opsMeetingCorrectionIntro = "For a meeting recorded with the wrong day. The signed form and the announcement may not be dated before the meeting, " +
	"so a day recorded too late stops them being recorded on the days they happened. The day may not be after the form was signed."

// opsFormCorrectionIntro says what correcting the day the form was signed does,
// before it is done.
const opsFormCorrectionIntro = "For a form recorded with the wrong day of signing. The announcement may not be dated before the form was signed, " +
	"so a day recorded too late stops the announcement being recorded on the day it happened. The day may not be after the announcement. " +
	"The people the form named are changed with the contacts."

// opsFirstObligationOpen says nothing has been received against the organisation's
// first obligation, whose dates a correction of the announcement's moves.
func opsFirstObligationOpen(o sigapi.Organisation) bool {
	ob := o.NextObligation
	return ob != nil && ob.Cycle == 1 && (ob.Status == sigapi.Open || ob.Status == sigapi.Overdue)
}

// opsDayOf is a correction's form filled with the day it corrects, as the
// organisation holds it (field, read by day): the form's current values.
func opsDayOf(field string, day func(sigapi.Organisation) *openapi_types.Date) func(sigapi.Organisation) opsform.Values {
	return func(o sigapi.Organisation) opsform.Values {
		if d := day(o); d != nil {
			return opsform.Values{field: {d.Format(time.DateOnly)}}
		}
		return opsform.Values{}
	}
}

// opsSeenVersion is the If-Match of the version a step's form was filled from, if it
// carries one.
func opsSeenVersion(r *http.Request) *sigapi.IfMatch {
	if version, _ := seenVersion(r.PostForm.Get("version")); version != "" {
		return &version
	}
	return nil
}

// opsOnboardingStep is one step of onboarding after the enquiry, as a form.
type opsOnboardingStep struct {
	slug, title, link, button string
	// done is what the organisation's page says once the step is saved, so that
	// ITSS know it was (the page came back as it was, saying nothing).
	done string
	// intro, when set, says on the form what saving it will do.
	intro string
	specs opsform.Specs
	// versioned says the step changes the organisation only at the version its form
	// was filled from, which the form carries (see seenVersion).
	versioned bool
	// current, when set, reads what the organisation holds now as the form's values:
	// the form is filled with them, and a save refused as stale says beside each
	// field what is saved now.
	current func(sigapi.Organisation) opsform.Values
	// next reports whether the step can be taken from this status.
	next func(sigapi.Status) bool
	// offered, when set, reports whether the organisation's page offers the step
	// besides its status (a record that succeeds one is given no other).
	offered func(sigapi.Organisation) bool
	call    func(c *opsCtx, r *http.Request, id string, body io.Reader) (*http.Response, []byte, error)
}

func opsInStatus(ss ...sigapi.Status) func(sigapi.Status) bool {
	return func(s sigapi.Status) bool { return slices.Contains(ss, s) }
}

var opsOnboardingSteps = []opsOnboardingStep{
	{slug: "meeting", done: "The meeting is recorded.", title: "Record the meeting", link: "Record the meeting", button: "Record the meeting", specs: opsform.Meeting,
		next: opsInStatus(sigapi.Enquiry),
		call: func(c *opsCtx, r *http.Request, id string, body io.Reader) (*http.Response, []byte, error) {
			key := opsFormKey(r)
			resp, err := c.set.Signatory.RecordMeetingWithBodyWithResponse(r.Context(), id, &sigapi.RecordMeetingParams{IdempotencyKey: &key}, "application/json", body)
			if err != nil {
				return nil, nil, err
			}
			return resp.HTTPResponse, resp.Body, nil
		}},
	{slug: "form", done: "The signed form is recorded.", title: "Record the signed form", link: "Record the signed form", button: "Record the signed form", specs: opsform.SignedForm,
		next: opsInStatus(sigapi.MeetingHeld),
		call: func(c *opsCtx, r *http.Request, id string, body io.Reader) (*http.Response, []byte, error) {
			key := opsFormKey(r)
			resp, err := c.set.Signatory.ReceiveFormWithBodyWithResponse(r.Context(), id, &sigapi.ReceiveFormParams{IdempotencyKey: &key}, "application/json", body)
			if err != nil {
				return nil, nil, err
			}
			return resp.HTTPResponse, resp.Body, nil
		}},
	{slug: "announcement", done: "The announcement is recorded.", title: "Record the announcement", link: "Record the announcement", button: "Record the announcement", specs: opsform.Announcement,
		next: opsInStatus(sigapi.FormReceived),
		call: func(c *opsCtx, r *http.Request, id string, body io.Reader) (*http.Response, []byte, error) {
			key := opsFormKey(r)
			resp, err := c.set.Signatory.AnnounceWithBodyWithResponse(r.Context(), id, &sigapi.AnnounceParams{IdempotencyKey: &key}, "application/json", body)
			if err != nil {
				return nil, nil, err
			}
			return resp.HTTPResponse, resp.Body, nil
		}},
	{slug: "succession", done: "The two records are linked.", title: "Link its record from before it withdrew", link: "Link its record from before it withdrew", button: "Link the two records", specs: opsform.Succession,
		intro:   opsSuccessionIntro,
		next:    opsInStatus(sigapi.Announced),
		offered: func(o sigapi.Organisation) bool { return o.Succeeds == nil },
		call: func(c *opsCtx, r *http.Request, id string, body io.Reader) (*http.Response, []byte, error) {
			key := opsFormKey(r)
			resp, err := c.set.Signatory.RecordSuccessionWithBodyWithResponse(r.Context(), id, &sigapi.RecordSuccessionParams{IdempotencyKey: &key}, "application/json", body)
			if err != nil {
				return nil, nil, err
			}
			return resp.HTTPResponse, resp.Body, nil
		}},
	{slug: "announcement-correction", done: "The announcement date is corrected.", title: "Correct the announcement date", link: "Correct the announcement date", button: "Correct the date", specs: opsform.AnnouncementCorrection,
		versioned: true, current: opsDayOf("announced_on", func(o sigapi.Organisation) *openapi_types.Date { return o.AnnouncedOn }),
		intro:   opsAnnouncementCorrectionIntro,
		next:    opsInStatus(sigapi.Announced),
		offered: opsFirstObligationOpen,
		call: func(c *opsCtx, r *http.Request, id string, body io.Reader) (*http.Response, []byte, error) {
			// Applied only to the organisation as the form showed it: two staff
			// correcting at once would otherwise both be applied, and both emailed.
			key, match := opsFormKey(r), opsSeenVersion(r)
			resp, err := c.set.Signatory.CreateAnnouncementCorrectionWithBodyWithResponse(r.Context(), id, &sigapi.CreateAnnouncementCorrectionParams{IdempotencyKey: &key, IfMatch: match}, "application/json", body)
			if err != nil {
				return nil, nil, err
			}
			return resp.HTTPResponse, resp.Body, nil
		}},
	{slug: "meeting-correction", done: "The meeting day is corrected.", title: "Correct the meeting day", link: "Correct the meeting day", button: "Correct the day", specs: opsform.MeetingCorrection,
		versioned: true, current: opsDayOf("held_on", func(o sigapi.Organisation) *openapi_types.Date { return o.MeetingHeldOn }),
		intro: opsMeetingCorrectionIntro,
		next:  opsInStatus(sigapi.MeetingHeld, sigapi.FormReceived, sigapi.Announced),
		call: func(c *opsCtx, r *http.Request, id string, body io.Reader) (*http.Response, []byte, error) {
			key, match := opsFormKey(r), opsSeenVersion(r)
			resp, err := c.set.Signatory.CreateMeetingCorrectionWithBodyWithResponse(r.Context(), id, &sigapi.CreateMeetingCorrectionParams{IdempotencyKey: &key, IfMatch: match}, "application/json", body)
			if err != nil {
				return nil, nil, err
			}
			return resp.HTTPResponse, resp.Body, nil
		}},
	{slug: "form-correction", done: "The form's day is corrected.", title: "Correct the form's day", link: "Correct the form's day", button: "Correct the day", specs: opsform.FormCorrection,
		versioned: true, current: opsDayOf("signed_on", func(o sigapi.Organisation) *openapi_types.Date { return o.FormSignedOn }),
		intro: opsFormCorrectionIntro,
		next:  opsInStatus(sigapi.FormReceived, sigapi.Announced),
		call: func(c *opsCtx, r *http.Request, id string, body io.Reader) (*http.Response, []byte, error) {
			key, match := opsFormKey(r), opsSeenVersion(r)
			resp, err := c.set.Signatory.CreateFormCorrectionWithBodyWithResponse(r.Context(), id, &sigapi.CreateFormCorrectionParams{IdempotencyKey: &key, IfMatch: match}, "application/json", body)
			if err != nil {
				return nil, nil, err
			}
			return resp.HTTPResponse, resp.Body, nil
		}},
	{slug: "contacts", done: "The contacts are changed.", title: "Change the contacts", link: "Change the contacts", button: "Save the contacts", specs: opsform.Contacts, versioned: true,
		current: opsContactsOf,
		next:    opsInStatus(sigapi.FormReceived, sigapi.Announced),
		call: func(c *opsCtx, r *http.Request, id string, body io.Reader) (*http.Response, []byte, error) {
			// Applied only to the organisation as the form showed it: another
			// person's change since is not put back without a word. opsStepSave
			// refused the form if it carried no version.
			version, _ := seenVersion(r.PostForm.Get("version"))
			resp, err := c.set.Signatory.UpdateContactsWithBodyWithResponse(r.Context(), id, "application/json", body, ifMatch(version))
			if err != nil {
				return nil, nil, err
			}
			return resp.HTTPResponse, resp.Body, nil
		}},
	{slug: "details", done: "The details are corrected.", title: "Correct the details", link: "Correct the details", button: "Save the details", specs: opsform.Details, versioned: true,
		intro:   opsDetailsIntro,
		current: opsDetailsOf,
		next:    opsInStatus(sigapi.Enquiry, sigapi.MeetingHeld, sigapi.FormReceived, sigapi.Announced, sigapi.Withdrawn),
		call: func(c *opsCtx, r *http.Request, id string, body io.Reader) (*http.Response, []byte, error) {
			// As the contacts: applied only to the organisation as the form showed it.
			resp, err := c.set.Signatory.UpdateDetailsWithBodyWithResponse(r.Context(), id, &sigapi.UpdateDetailsParams{IfMatch: opsSeenVersion(r)}, "application/json", body)
			if err != nil {
				return nil, nil, err
			}
			return resp.HTTPResponse, resp.Body, nil
		}},
	{slug: "withdrawal", done: "The withdrawal is recorded.", title: "Record a withdrawal", link: "Record a withdrawal", button: "Record the withdrawal", specs: opsform.Withdrawal,
		intro: opsWithdrawalIntro,
		next:  opsInStatus(sigapi.Enquiry, sigapi.MeetingHeld, sigapi.FormReceived, sigapi.Announced),
		call: func(c *opsCtx, r *http.Request, id string, body io.Reader) (*http.Response, []byte, error) {
			key := opsFormKey(r)
			resp, err := c.set.Signatory.WithdrawWithBodyWithResponse(r.Context(), id, &sigapi.WithdrawParams{IdempotencyKey: &key}, "application/json", body)
			if err != nil {
				return nil, nil, err
			}
			return resp.HTTPResponse, resp.Body, nil
		}},
}

// opsRecord links to another record of the organisation, with its name and, when it
// withdrew, the day; one that cannot be read now is named by its identifier.
func (h *Handler) opsRecord(r *http.Request, c *opsCtx, id string) *opsRecordLink {
	link := &opsRecordLink{Path: "/ops/organisations/" + id, Name: id}
	resp, err := c.set.Signatory.GetOrganisationWithResponse(r.Context(), id)
	if err != nil || resp.JSON200 == nil {
		return link
	}
	link.Name = resp.JSON200.Name
	if on := resp.JSON200.WithdrawnOn; on != nil {
		link.Note = "withdrew on " + longDate(on.Time)
	}
	return link
}

// opsStepDone is the address of the organisation's page saying that the step was
// saved.
func opsStepDone(id, slug string) string {
	return "/ops/organisations/" + url.PathEscape(id) + "?" + url.Values{"done": {slug}}.Encode()
}

func opsStepOf(slug string) (opsOnboardingStep, bool) {
	for _, s := range opsOnboardingSteps {
		if s.slug == slug {
			return s, true
		}
	}
	return opsOnboardingStep{}, false
}

// opsFormData is a console form page (ops_form.html).
type opsFormData struct {
	Caption, Intro, Action, Button, Back string
	// Key is the form's idempotency key, when the service takes one.
	Key string
	// Version is the ETag of what the form was filled from, sent back as If-Match
	// when the service takes one (an organisation's contacts).
	Version string
	Fields  []templates.OpsField
}

func (h *Handler) opsStepShow(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	step, ok := opsStepOf(r.PathValue("step"))
	if !ok {
		h.notFound(w, r)
		return
	}
	id := r.PathValue("org")
	resp, err := c.set.Signatory.GetOrganisationWithResponse(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	typed := opsform.Values{}
	for _, s := range step.specs {
		if s.Type == opsform.Date {
			typed[s.Name] = []string{h.opsDay().Format(time.DateOnly)}
		}
	}
	version := ""
	if step.current != nil {
		typed, version = step.current(*resp.JSON200), resp.HTTPResponse.Header.Get("ETag")
	}
	h.opsShowStep(w, r, http.StatusOK, step, resp.JSON200.Name, id, version, typed, nil)
}

// opsShowStep shows a step's form. Its key (a fresh one for a new form, the one it
// was sent with when shown again) makes the same form sent twice one step: a second
// press answered "cannot record a meeting with an organisation whose status is
// meeting_held".
func (h *Handler) opsShowStep(w http.ResponseWriter, r *http.Request, status int, step opsOnboardingStep, name, id, version string, typed opsform.Values, errs []templates.FieldError) {
	h.show(w, r, status, "ops_form", step.title, errs, opsFormData{Caption: name, Intro: step.intro, Action: "/ops/organisations/" + id + "/" + step.slug,
		Button: step.button, Back: "/ops/organisations/" + id, Key: opsFormKey(r), Version: version, Fields: step.specs.Fields(typed, errs)})
}

// opsStepSave sends an onboarding step to the signatory service as the signed-in
// person; what the service refuses is shown beside the fields it names.
func (h *Handler) opsStepSave(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	step, ok := opsStepOf(r.PathValue("step"))
	if !ok {
		h.notFound(w, r)
		return
	}
	id := r.PathValue("org")
	if _, versioned := seenVersion(r.PostForm.Get("version")); step.versioned && !versioned {
		h.versionMissing(w, r, "/ops/organisations/"+id+"/"+step.slug)
		return
	}
	typed, body, errs := step.specs.Parse(r.PostForm, london)
	stale := false
	if len(errs) == 0 {
		httpResp, respBody, err := step.call(c, r, id, opsJSONBody(body))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p := clients.Check(httpResp, respBody)
		switch {
		case p == nil:
			if step.slug == "details" {
				// The name the console's lists held for it may be the one corrected.
				h.orgNames.forget(id)
			}
			http.Redirect(w, r, opsStepDone(id, step.slug), http.StatusSeeOther)
			return
		case p.Status == http.StatusPreconditionFailed:
			// Changed by someone else since the form was filled: what was typed is
			// shown again, not saved, with the organisation's version now.
			stale = true
			errs = opsStale("changed this organisation", "the organisation")
		case !opsFormRefusal(p):
			h.serviceProblem(w, r, p)
			return
		default:
			errs = opsRenamed(opsFieldProblems(p, nil), step.specs)
		}
	}
	name, version := id, r.PostForm.Get("version")
	if org, err := c.set.Signatory.GetOrganisationWithResponse(r.Context(), id); err == nil && org.JSON200 != nil {
		name = org.JSON200.Name
		if stale && step.current != nil && step.specs.Holds(typed, step.current(*org.JSON200)) {
			// The organisation already reads as typed: this form was sent twice (a
			// double click, or back and send again), and the first sending saved it.
			http.Redirect(w, r, opsStepDone(id, step.slug), http.StatusSeeOther)
			return
		}
		if stale {
			version = org.HTTPResponse.Header.Get("ETag") // a save once checked replaces that
			if step.current != nil {
				errs = append(errs, step.specs.SavedNow(typed, step.current(*org.JSON200))...)
			}
		}
	}
	status := opsStatusOf(errs)
	if stale {
		status = http.StatusConflict
	}
	h.opsShowStep(w, r, status, step, name, id, version, typed, errs)
}

// opsStale is what a console form says when its save was refused because someone
// changed the object since the form was filled (412): what was typed is shown again,
// not saved, and beside each field the object now holds otherwise, what it holds
// (Specs.SavedNow), so that saving again is a choice made knowing what it puts back.
func opsStale(changed, object string) []templates.FieldError {
	return []templates.FieldError{{Message: "Someone else " + changed + " since you opened the form (perhaps you, in another tab): nothing was saved. " +
		"Where " + object + " now differs from what you typed, the field says what is saved now. Check what you typed below, and save again."}}
}

// opsRenamed puts each service field error on the form's field of that API name.
func opsRenamed(errs []templates.FieldError, specs opsform.Specs) []templates.FieldError {
	for i := range errs {
		if errs[i].Field != "" {
			errs[i].Field = specs.Rename(errs[i].Field)
			if opsMoneyField(specs, errs[i].Field) {
				errs[i].Message = opsInPounds(errs[i].Message, specs)
			}
			if !specs.Has(errs[i].Field) {
				errs[i].Message = opsHumanise(errs[i].Field) + ": " + errs[i].Message
				errs[i].Field = ""
			}
		}
	}
	// The service's words about a field become a sentence that names it ("Email
	// address is the address of ..."), as the error summary lists them apart.
	return specs.Named(errs)
}

func opsStatusOf(errs []templates.FieldError) int {
	for _, e := range errs {
		if e.Field != "" {
			return http.StatusBadRequest
		}
	}
	return http.StatusConflict
}

func (h *Handler) opsEnquiryShow(w http.ResponseWriter, r *http.Request, _ *opsCtx) {
	h.opsShowEnquiry(w, r, http.StatusOK, uuid.NewString(), opsform.Values{"country": {"GB"}}, nil)
}

func (h *Handler) opsShowEnquiry(w http.ResponseWriter, r *http.Request, status int, key string, typed opsform.Values, errs []templates.FieldError) {
	h.show(w, r, status, "ops_form", "Record an enquiry", errs, opsFormData{Intro: "An organisation has asked to join the Technician Commitment.",
		Action: "/ops/organisations", Button: "Record the enquiry", Back: "/ops/organisations", Key: key, Fields: opsform.Enquiry.Fields(typed, errs)})
}

// opsEnquiryCreate records a new organisation's enquiry and goes to its page, once
// however often the same form is sent (a double click recorded two organisations).
func (h *Handler) opsEnquiryCreate(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	key := opsFormKey(r)
	typed, body, errs := opsform.Enquiry.Parse(r.PostForm, london)
	if len(errs) > 0 {
		h.opsShowEnquiry(w, r, http.StatusBadRequest, key, typed, errs)
		return
	}
	resp, err := c.set.Signatory.CreateOrganisationWithBodyWithResponse(r.Context(), &sigapi.CreateOrganisationParams{IdempotencyKey: &key}, "application/json", opsJSONBody(body))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		if !opsFormRefusal(p) {
			h.serviceProblem(w, r, p)
			return
		}
		fe := opsRenamed(opsFieldProblems(p, nil), opsform.Enquiry)
		h.opsShowEnquiry(w, r, opsStatusOf(fe), key, typed, fe)
		return
	}
	if resp.JSON201 == nil {
		h.fail(w, r, fmt.Errorf("create organisation: answered %d without the organisation", resp.StatusCode()))
		return
	}
	// The identifier is the service's, escaped: the address stays on this site.
	http.Redirect(w, r, "/ops/organisations/"+url.PathEscape(resp.JSON201.Id), http.StatusSeeOther)
}

// opsContactsOf fills the contacts form from the organisation's record.
// opsDetailsOf is the organisation's details as the details form holds them.
func opsDetailsOf(o sigapi.Organisation) opsform.Values {
	return opsform.Values{"name": {o.Name}, "sector": {string(o.Sector)}, "country": {o.Country}, "website": {o.Website}}
}

func opsContactsOf(o sigapi.Organisation) opsform.Values {
	v := opsform.Values{}
	person := func(prefix string, p *sigapi.Person) {
		if p == nil {
			return
		}
		v[prefix+".name"], v[prefix+".email"] = []string{p.Name}, []string{string(p.Email)}
		if p.Title != nil {
			v[prefix+".title"] = []string{*p.Title}
		}
	}
	person("leader", o.Leader)
	person("nominated_lead", o.NominatedLead)
	if pc := o.PointOfContact; pc != nil {
		v["point_of_contact.name"] = []string{pc.Name}
		if pc.Title != nil {
			v["point_of_contact.title"] = []string{*pc.Title}
		}
		if pc.Email != nil {
			v["point_of_contact.email"] = []string{string(*pc.Email)}
		}
	}
	if o.PlanPage != nil {
		v["plan_page"] = []string{*o.PlanPage}
	}
	return v
}
