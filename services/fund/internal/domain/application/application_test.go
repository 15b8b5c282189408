package application_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
)

var testRound = round.Round{
	ID: "r1", Name: "TCF", Opens: time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC), Closes: time.Date(2027, 3, 31, 16, 0, 0, 0, time.UTC),
	BudgetPence: 500000, MinAwardPence: 10000, MaxAwardPence: 100000,
	ProjectStart: civil.New(2027, 5, 1), ProjectEnd: civil.New(2027, 12, 31), Themes: []string{"visibility", "recognition"},
}

func valid() application.Content {
	return application.Content{
		Title: "Exchange", Summary: "Workshops", Themes: []string{"visibility"}, RequestedAmountPence: 50000,
		Partners:    []application.Partner{{Name: "College", OrganisationID: "org2"}},
		Endorsement: application.Person{Name: "Sam", Email: "sam@example.ac.uk"},
		BudgetLines: []application.BudgetLine{{Description: "Kit", AmountPence: 30000}, {Description: "Travel", AmountPence: 20000}},
		Milestones:  []application.Milestone{{Description: "Start", Due: civil.New(2027, 5, 1)}, {Description: "End", Due: civil.New(2027, 12, 31)}},
	}
}

func TestValidateNamesTheFieldThatBreaksARule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(*application.Content)
		field string
	}{
		{"valid", func(*application.Content) {}, ""},
		{"below minimum", func(c *application.Content) { c.RequestedAmountPence = 9999 }, "requested_amount_pence"},
		{"above maximum", func(c *application.Content) { c.RequestedAmountPence = 100001 }, "requested_amount_pence"},
		{"lines do not add up", func(c *application.Content) { c.BudgetLines[1].AmountPence = 19999 }, "budget_lines"},
		{"negative line", func(c *application.Content) { c.BudgetLines[1].AmountPence = -1 }, "budget_lines.1.amount_pence"},
		{"milestone before window", func(c *application.Content) { c.Milestones[0].Due = civil.New(2027, 4, 30) }, "milestones.0.due"},
		{"milestone after window", func(c *application.Content) { c.Milestones[1].Due = civil.New(2028, 1, 1) }, "milestones.1.due"},
		{"partner is the lead", func(c *application.Content) { c.Partners[0].OrganisationID = "org1" }, "partners.0.organisation_id"},
		{"no partner", func(c *application.Content) { c.Partners = nil }, "partners"},
		{"theme out of scope", func(c *application.Content) { c.Themes = []string{"sustainability"} }, "themes.0"},
		{"endorsement with display name", func(c *application.Content) { c.Endorsement.Email = "Sam <sam@example.ac.uk>" }, "endorsement.email"},
		{"blank title", func(c *application.Content) { c.Title = "  " }, "title"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tt.edit(&c)
			err := application.Validate(testRound, "org1", c)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("valid content refused: %v", err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Invalid || e.Field != tt.field {
				t.Fatalf("err = %v, want Invalid naming %s", err, tt.field)
			}
		})
	}
}

func TestSubmissionFollowsTheRoundsClock(t *testing.T) {
	t.Parallel()
	a, _ := application.Rebuild("a1", nil)
	el := application.Eligibility{ActiveSignatory: true}
	if _, err := a.Draft(testRound, "org1", application.Person{Name: "x"}, valid(), "h", application.Eligibility{}, testRound.Opens); !apperr.Is(err, apperr.Forbidden) {
		t.Errorf("a draft for a non-signatory: %v, want Forbidden", err)
	}
	excl := testRound
	excl.ExcludePreviouslyFunded = true
	if _, err := a.Draft(excl, "org1", application.Person{Name: "x"}, valid(), "h", application.Eligibility{ActiveSignatory: true, FundedLastRound: true}, testRound.Opens); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("a draft from last round's grantee: %v, want Conflict", err)
	}
	if _, err := a.Submit(testRound, el, testRound.Opens); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("submitting what does not exist: %v, want NotFound", err)
	}
	for _, at := range []time.Time{testRound.Opens.Add(-time.Second), testRound.Closes, testRound.Closes.Add(time.Hour)} {
		if got := testRound.StatusAt(at); got == round.OpenNow {
			t.Errorf("round open at %s", at)
		}
	}
	if got := testRound.StatusAt(testRound.Closes.Add(-time.Nanosecond)); got != round.OpenNow {
		t.Errorf("round %s a moment before it closes", got)
	}
}

// A draft is started before its round opens or while it is open, never once the
// round has closed (on time, early or cancelled before it opened), since it could
// never be submitted; nor is a draft changed then. Each refusal gives the time the
// round closed.
func TestADraftIsNotStartedOrChangedOnceItsRoundHasClosed(t *testing.T) {
	t.Parallel()
	early := testRound
	early.ClosedAt, early.ClosedEarly = time.Date(2027, 2, 10, 12, 0, 0, 0, time.UTC), true
	cancelled := testRound
	cancelled.ClosedAt, cancelled.ClosedEarly = testRound.Opens.Add(-24*time.Hour), true
	tests := []struct {
		name   string
		r      round.Round
		at     time.Time
		closed string // the closing time the refusal gives, or "" when the draft is taken
	}{
		{"before the round opens", testRound, testRound.Opens.Add(-time.Hour), ""},
		{"while the round is open", testRound, testRound.Closes.Add(-time.Second), ""},
		{"at the closing time", testRound, testRound.Closes, "Wednesday 31 March 2027, 17:00 BST"},
		{"after a close recorded on time", func() round.Round { r := testRound; r.ClosedAt = r.Closes; return r }(), testRound.Closes.Add(time.Hour), "Wednesday 31 March 2027, 17:00 BST"},
		{"after an early close", early, early.ClosedAt.Add(time.Minute), "Wednesday 10 February 2027, 12:00 GMT"},
		{"for a round cancelled before it opened", cancelled, testRound.Opens.Add(-time.Hour), "Thursday 31 December 2026, 09:00 GMT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, _ := application.Rebuild("a1", nil)
			_, draftErr := a.Draft(tt.r, "org1", application.Person{Name: "x"}, valid(), "h", lead, tt.at)
			drafted := replay(t, decided(t, 0)[:1]...)
			_, updateErr := drafted.Update(tt.r, valid(), lead, tt.at)
			for what, err := range map[string]error{"draft": draftErr, "update": updateErr} {
				if tt.closed == "" {
					if err != nil {
						t.Errorf("%s: %v", what, err)
					}
					continue
				}
				if !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), "closed at "+tt.closed) {
					t.Errorf("%s: %v, want a conflict saying the round closed at %s", what, err, tt.closed)
				}
			}
		})
	}
}

// lead is the eligibility of org1, whose recorded nominated lead is Sam.
var lead = application.Eligibility{ActiveSignatory: true, OrganisationName: "Org One", NominatedLeadEmail: "sam@example.ac.uk"}

// replay applies payloads to a fresh application, as the event store would.
func replay(t *testing.T, payloads ...events.Payload) *application.Application {
	t.Helper()
	var h []events.Envelope
	for i, p := range payloads {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		h = append(h, events.Envelope{ID: "e", Type: p.EventType(), AggregateID: "a1", Version: i + 1, Data: data})
	}
	a, err := application.Rebuild("a1", h)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// decided runs the application through draft, submission, assessment and, if
// amount > 0, an award of amount; it returns the events so far.
func decided(t *testing.T, amount int64) []events.Payload {
	t.Helper()
	a, _ := application.Rebuild("a1", nil)
	var all []events.Payload
	step := func(out []events.Payload, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out...)
		a = replay(t, all...)
	}
	step(a.Draft(testRound, "org1", application.Person{Name: "x"}, valid(), "h", lead, testRound.Opens))
	step(a.Submit(testRound, lead, testRound.Opens.Add(time.Hour)))
	step(a.StartAssessment())
	if amount > 0 {
		if err := a.CheckAward(testRound, amount, lead, testRound.ProjectStart); err != nil {
			t.Fatal(err)
		}
		step(a.Award(testRound, amount))
	}
	return all
}

// A partner named as the lead organisation is recorded, in any case or spacing, is
// the lead itself, not a partner outside it; a partner's organisation id is one the
// Commitment holds: on draft, update and submit.
func TestAPartnerIsNotTheLeadUnderItsOwnName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		partners []application.Partner
		ok       bool
	}{
		{"another organisation", []application.Partner{{Name: "Org Two"}}, true},
		{"a name containing the lead's", []application.Partner{{Name: "Org One Students' Union"}}, true},
		{"the lead's name", []application.Partner{{Name: "Org One"}}, false},
		{"the lead's name, other case and spacing", []application.Partner{{Name: " org  ONE "}}, false},
		{"the lead's name beside a real partner", []application.Partner{{Name: "College", OrganisationID: "org2"}, {Name: "Org One"}}, false},
		{"the lead's name with another organisation's id", []application.Partner{{Name: "Org One", OrganisationID: "org2"}}, true},
		{"an organisation id the Commitment does not hold", []application.Partner{{Name: "College"}, {Name: "Nowhere", OrganisationID: "org-nowhere"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			c.Partners = tt.partners
			a, _ := application.Rebuild("a1", nil)
			el := lead
			el.UnknownPartners = []string{"org-nowhere"}
			_, draftErr := a.Draft(testRound, "org1", application.Person{Name: "x"}, c, "h", el, testRound.Opens)
			drafted := replay(t, decided(t, 0)[:1]...)
			_, updateErr := drafted.Update(testRound, c, el, testRound.Opens)
			for what, err := range map[string]error{"draft": draftErr, "update": updateErr} {
				if tt.ok {
					if err != nil {
						t.Fatalf("%s with partners %v: %v", what, tt.partners, err)
					}
					continue
				}
				want := fmt.Sprintf("partners.%d.name", len(tt.partners)-1)
				if last := tt.partners[len(tt.partners)-1]; last.OrganisationID != "" {
					want = fmt.Sprintf("partners.%d.organisation_id", len(tt.partners)-1)
				}
				if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Field != want {
					t.Fatalf("%s with partners %v: err = %v, want Invalid naming the lead's entry", what, tt.partners, err)
				}
			}
		})
	}
	// The lead's name is checked again on submission: a draft whose partner was named
	// as the lead is recorded is not sent for assessment.
	c := valid()
	c.Partners = []application.Partner{{Name: "College"}}
	a, _ := application.Rebuild("a1", nil)
	draft, err := a.Draft(testRound, "org1", application.Person{Name: "x"}, c, "h", lead, testRound.Opens)
	if err != nil {
		t.Fatal(err)
	}
	named := lead
	named.OrganisationName = "College"
	a = replay(t, draft...)
	if _, err := a.Submit(testRound, named, testRound.Opens.Add(time.Hour)); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("submitting a draft whose partner is the lead: %v, want Invalid", err)
	}
}

func TestOnlyTheOrganisationsNominatedLeadEndorses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		email string
		el    application.Eligibility
		ok    bool
	}{
		{"the recorded lead", "sam@example.ac.uk", lead, true},
		{"the recorded lead, other case", "Sam@Example.AC.UK", lead, true},
		{"another organisation's lead", "lead@other.ac.uk", lead, false},
		{"no lead recorded", "sam@example.ac.uk", application.Eligibility{ActiveSignatory: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			c.Endorsement.Email = tt.email
			a, _ := application.Rebuild("a1", nil)
			_, err := a.Draft(testRound, "org1", application.Person{Name: "x"}, c, "h", tt.el, testRound.Opens)
			if tt.ok {
				if err != nil {
					t.Fatalf("endorsed by the lead: %v", err)
				}
				return
			}
			if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Field != "endorsement.email" {
				t.Fatalf("err = %v, want Invalid naming endorsement.email", err)
			}
		})
	}
	// The lead changes after the draft: the draft can no longer be submitted as it is.
	a := replay(t, decided(t, 0)[:1]...)
	moved := lead
	moved.NominatedLeadEmail = "new.lead@example.ac.uk"
	if _, err := a.Submit(testRound, moved, testRound.Opens.Add(time.Hour)); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("submitting a draft endorsed by a former lead: %v, want Invalid", err)
	}
	if _, err := a.Update(testRound, valid(), moved, testRound.Opens); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("updating a draft keeping a former lead's endorsement: %v, want Invalid", err)
	}
}

func TestAwardsStayWithinTheRequestAndTheRules(t *testing.T) {
	t.Parallel()
	a := replay(t, decided(t, 0)...) // in assessment, 50000 requested
	excl := testRound
	excl.ExcludePreviouslyFunded = true
	funded := lead
	funded.FundedLastRound = true
	tests := []struct {
		name   string
		r      round.Round
		amount int64
		el     application.Eligibility
		code   apperr.Code
		field  string
		today  civil.Date
	}{
		{"the amount requested", testRound, 50000, lead, "", "", testRound.ProjectStart},
		{"on the project's last day", testRound, 50000, lead, "", "", testRound.ProjectEnd},
		// A project already over cannot be funded, and its report would be due by
		// a day gone or about to go.
		{"after the project ended", testRound, 50000, lead, apperr.Conflict, "", testRound.ProjectEnd.AddDays(1)},
		{"after the report was due", testRound, 50000, lead, apperr.Conflict, "", testRound.ReportDue().AddDays(1)},
		{"less than requested", testRound, 40000, lead, "", "", testRound.ProjectStart},
		{"more than requested", testRound, 50001, lead, apperr.Invalid, "amount_pence", testRound.ProjectStart},
		{"below the round's minimum", testRound, 9999, lead, apperr.Invalid, "amount_pence", testRound.ProjectStart},
		{"funded in the previous round meanwhile", excl, 50000, funded, apperr.Conflict, "", testRound.ProjectStart},
		{"funded in the following round first", testRound, 50000, application.Eligibility{ActiveSignatory: true, FundedInFollowingRound: "TCF 2"}, apperr.Conflict, "", testRound.ProjectStart},
		{"withdrawn from the Commitment meanwhile", testRound, 50000, application.Eligibility{NominatedLeadEmail: "sam@example.ac.uk"}, apperr.Conflict, "", testRound.ProjectStart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := a.CheckAward(tt.r, tt.amount, tt.el, tt.today)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("award refused: %v", err)
				}
				return
			}
			if e, ok := apperr.As(err); !ok || e.Code != tt.code || e.Field != tt.field {
				t.Fatalf("err = %v, want %s naming %q", err, tt.code, tt.field)
			}
		})
	}
	if err := a.CheckAward(testRound, 50000, lead, testRound.ProjectEnd.AddDays(1)); err == nil || !strings.Contains(err.Error(), "Friday 31 December 2027") {
		t.Errorf("an award after the project ended: %v, want it refused saying the day the project ended", err)
	}
	if _, err := a.Award(testRound, 50001); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("settling an award over the request: %v, want Invalid", err)
	}
	awarded := replay(t, decided(t, 40000)...)
	if _, err := awarded.Decline("changed our minds"); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("declining after the award: %v, want Conflict", err)
	}
	draft := replay(t, decided(t, 0)[:1]...)
	if err := draft.CheckAward(testRound, 40000, lead, testRound.ProjectStart); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("awarding a draft: %v, want Conflict", err)
	}
}

func TestTheReportWaitsForTheProjectAndTheAward(t *testing.T) {
	t.Parallel()
	a := replay(t, decided(t, 40000)...)
	rep := application.Report{Summary: "Done", SpentPence: 40000}
	_, err := a.SubmitReport(testRound, rep, civil.New(2027, 4, 30)) // the project starts on 1 May
	if !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), "Saturday 1 May 2027") {
		t.Errorf("a report before the project starts: %v, want Conflict saying it can be sent from Saturday 1 May 2027", err)
	}
	over := rep
	over.SpentPence = 40001
	if _, err := a.SubmitReport(testRound, over, civil.New(2027, 5, 1)); func() bool { e, ok := apperr.As(err); return !ok || e.Field != "spent_pence" }() {
		t.Errorf("a report spending more than the award: %v, want refused naming spent_pence", err)
	}
	out, err := a.SubmitReport(testRound, rep, civil.New(2027, 5, 1))
	if err != nil || len(out) != 1 {
		t.Fatalf("a report on the day the project starts: %v, %v", out, err)
	}
	// It names the applicant (here drafted as "x"), whom notify sends its receipt.
	if p, ok := out[0].(events.ReportSubmittedV1); !ok || p.Applicant.Name != "x" {
		t.Errorf("the report's event %+v does not name its applicant", out[0])
	}
}

// An application withdrawn after its submission says when it was submitted, so that
// notify tells its lead, who was told of its receipt, that it is withdrawn; a draft's
// withdrawal says none, since nobody but its applicant knew of it.
func TestAWithdrawalSaysWhetherTheApplicationWasSubmitted(t *testing.T) {
	t.Parallel()
	a, _ := application.Rebuild("a1", nil)
	drafted, err := a.Draft(testRound, "org1", application.Person{Name: "x"}, valid(), "h", lead, testRound.Opens)
	if err != nil {
		t.Fatal(err)
	}
	a = replay(t, drafted...)
	out, err := a.Withdraw("changed our minds")
	if p, ok := first[events.ApplicationWithdrawnV1](out); err != nil || !ok || !p.SubmittedAt.IsZero() {
		t.Errorf("a draft's withdrawal: %+v, %v, want no time of submission", out, err)
	}
	submitted := testRound.Opens.Add(time.Hour)
	for _, all := range [][]events.Payload{decided(t, 0)[:2], decided(t, 0)} { // submitted; in assessment
		a = replay(t, all...)
		out, err := a.Withdraw("the partner left")
		if p, ok := first[events.ApplicationWithdrawnV1](out); err != nil || !ok || !p.SubmittedAt.Equal(submitted) {
			t.Errorf("a submitted application's withdrawal: %+v, %v, want submitted at %s", out, err, submitted)
		}
		out = a.WithdrawForOrganisation("Uni", civil.New(2027, 2, 1))
		if p, ok := first[events.ApplicationWithdrawnV1](out); !ok || !p.SubmittedAt.Equal(submitted) {
			t.Errorf("the fund's withdrawal of a submitted application: %+v, want submitted at %s", out, submitted)
		}
	}
}

// first is the first of out, as a T.
func first[T events.Payload](out []events.Payload) (T, bool) {
	var zero T
	if len(out) == 0 {
		return zero, false
	}
	p, ok := out[0].(T)
	return p, ok
}

// An award carries its round's project window, which the award's email tells: when
// the project may start and by when it must end.
func TestAnAwardCarriesTheProjectWindow(t *testing.T) {
	t.Parallel()
	all := decided(t, 40000)
	p, ok := all[len(all)-1].(events.ApplicationAwardedV1)
	if !ok || p.ProjectStart != testRound.ProjectStart || p.ProjectEnd != testRound.ProjectEnd {
		t.Errorf("the award %+v does not carry the project window %s to %s", all[len(all)-1], testRound.ProjectStart, testRound.ProjectEnd)
	}
}

// A funded project's report moves with its round's corrected project window, and
// where it stands is decided again by the new days: a report chased as overdue by a
// day a year short is no longer overdue when the day moves a year on (the sweep
// chases it again by the new day, if it is not in then), one asked for stays asked
// for only if the project ended by the new window, and one still overdue by the new
// day stays chased (not chased twice). A report in, or a day not moved, moves nothing.
func TestAReportsDueDayMovesWithTheProjectWindow(t *testing.T) {
	t.Parallel()
	all := decided(t, 40000) // due 31 January 2028
	short := testRound
	short.ProjectEnd = civil.New(2027, 6, 30) // typed short: due 30 July 2027
	longer := testRound
	longer.ProjectEnd = civil.New(2028, 6, 30) // due 30 July 2028
	step := func(ps []events.Payload, err error) []events.Payload {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ps...)
		return ps
	}
	a := replay(t, all...)
	moved := step(a.MoveReportDue(short, civil.New(2027, 5, 1)))
	if len(moved) != 1 {
		t.Fatalf("moving the day: %v, want one event", moved)
	}
	m := moved[0].(events.ReportDueMovedV1)
	if m.Move != 1 || m.DueBefore.String() != "2028-01-31" || m.Due.String() != "2027-07-30" || m.ProjectEndBefore.String() != "2027-12-31" || m.ProjectEnd.String() != "2027-06-30" || m.Asked || m.Chased || m.Applicant.Name != "x" {
		t.Errorf("moved %+v, want move 1 from 2028-01-31 to 2027-07-30, the window before and after, neither asked nor chased, naming the applicant", m)
	}
	// The sweep then asks for it and chases it by the day typed short.
	a = replay(t, all...)
	step(a.MarkReportDue(short, civil.New(2027, 7, 1)))
	a = replay(t, all...)
	chased := step(a.MarkReportOverdue(civil.New(2027, 7, 31)))
	if len(chased) != 1 || chased[0].(events.ReportOverdueV1).DueMoves != 1 {
		t.Fatalf("chased by the short day: %+v, want one chase counting the move", chased)
	}
	// Corrected a year on: neither asked for nor overdue any more.
	a = replay(t, all...)
	m = step(a.MoveReportDue(longer, civil.New(2027, 8, 1)))[0].(events.ReportDueMovedV1)
	if m.Move != 2 || m.Asked || m.Chased || m.Due.String() != "2028-07-30" {
		t.Errorf("moved a year on %+v, want move 2 to 2028-07-30, neither asked nor chased", m)
	}
	a = replay(t, all...)
	if a.ReportDue().String() != "2028-07-30" || a.ReportIsDue() {
		t.Errorf("after the move: due %s, is due %v; want 2028-07-30 and not yet due", a.ReportDue(), a.ReportIsDue())
	}
	if out, _ := a.MarkReportOverdue(civil.New(2027, 8, 2)); len(out) != 0 {
		t.Errorf("a report not due until 2028-07-30 marked overdue: %v", out)
	}
	if out, _ := a.MoveReportDue(longer, civil.New(2027, 8, 2)); len(out) != 0 {
		t.Errorf("the same day again: %v, want nothing", out)
	}
	// Asked and chased by the new day: moving it a day on, still gone, keeps both.
	step(a.MarkReportDue(longer, civil.New(2028, 7, 1)))
	a = replay(t, all...)
	step(a.MarkReportOverdue(civil.New(2028, 8, 1)))
	a = replay(t, all...)
	later := longer
	later.ProjectEnd = civil.New(2028, 7, 1)
	m = step(a.MoveReportDue(later, civil.New(2028, 9, 1)))[0].(events.ReportDueMovedV1)
	if !m.Asked || !m.Chased {
		t.Errorf("moved to a day also gone %+v, want still asked and chased", m)
	}
	a = replay(t, all...)
	if out, _ := a.MarkReportOverdue(civil.New(2028, 9, 2)); len(out) != 0 {
		t.Errorf("a report chased again by a day gone: %v", out)
	}
	step(a.SubmitReport(later, application.Report{Summary: "Done", SpentPence: 1}, civil.New(2028, 9, 2)))
	a = replay(t, all...)
	if out, _ := a.MoveReportDue(testRound, civil.New(2028, 9, 3)); len(out) != 0 {
		t.Errorf("a report in moved: %v, want nothing", out)
	}
}

// An award typed wrong is corrected to an amount an award could have been (within the
// round's limits and the request, 400 naming amount_pence), not the amount awarded
// already, with a reason in words (400 naming reason); never for an application not
// awarded (withdrawn, declined, in assessment), nor below what its report, once in,
// says was spent (409). The correction carries both amounts, the reason and the
// report's day, and the report is then held to the amount corrected.
func TestAnAwardIsCorrectedWithinTheRequestAndAboveWhatWasSpent(t *testing.T) {
	t.Parallel()
	awarded := replay(t, decided(t, 40000)...)
	field := func(err error) string {
		if e, ok := apperr.As(err); ok && e.Code == apperr.Invalid {
			return e.Field
		}
		return fmt.Sprintf("not Invalid: %v", err)
	}
	for _, tt := range []struct {
		name   string
		amount int64
		reason string
		field  string
	}{
		{"more than requested", 50001, "typed wrong", "amount_pence"},
		{"below the round's minimum", 9999, "typed wrong", "amount_pence"},
		{"the amount awarded already", 40000, "typed wrong", "amount_pence"},
		{"no reason", 30000, "  ", "reason"},
		{"a reason with no words", 30000, "-- !", "reason"},
	} {
		if got := field(awarded.CheckCorrection(testRound, tt.amount, tt.reason)); got != tt.field {
			t.Errorf("%s: refusal names %q, want %q", tt.name, got, tt.field)
		}
	}
	out, err := awarded.CorrectAward(testRound, 30000, " £400 typed for £300 ")
	if err != nil || len(out) != 1 {
		t.Fatalf("correcting to £300: %v %v", out, err)
	}
	c, ok := out[0].(events.AwardCorrectedV1)
	if !ok || c.FromPence != 40000 || c.ToPence != 30000 || c.Reason != "£400 typed for £300" || c.ReportDue != testRound.ReportDue() || c.Applicant.Name != "x" {
		t.Errorf("the correction's event %+v, want 40000 to 30000, the reason trimmed, the report's day and the applicant", out[0])
	}
	corrected := replay(t, append(decided(t, 40000), out...)...)
	if corrected.AwardPence() != 30000 || corrected.Status() != application.StatusAwarded {
		t.Errorf("after the correction the award is %d (%s), want 30000 awarded", corrected.AwardPence(), corrected.Status())
	}
	if _, err := corrected.SubmitReport(testRound, application.Report{Summary: "Done", SpentPence: 30001}, civil.New(2027, 5, 1)); field(err) != "spent_pence" {
		t.Errorf("a report spending more than the corrected award: %v, want refused naming spent_pence", err)
	}

	reported, err := awarded.SubmitReport(testRound, application.Report{Summary: "Done", SpentPence: 35000}, civil.New(2027, 5, 1))
	if err != nil {
		t.Fatal(err)
	}
	withReport := replay(t, append(decided(t, 40000), reported...)...)
	if err := withReport.CheckCorrection(testRound, 30000, "typed wrong"); !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), "35000 pence") {
		t.Errorf("correcting below what the report spent: %v, want Conflict saying what was spent", err)
	}
	if err := withReport.CheckCorrection(testRound, 35000, "typed wrong"); err != nil {
		t.Errorf("correcting to what the report spent: %v", err)
	}

	assessed := replay(t, decided(t, 0)...)
	withdrawn, _ := assessed.Withdraw("no longer")
	for name, a := range map[string]*application.Application{
		"in assessment": assessed,
		"withdrawn":     replay(t, append(decided(t, 0), withdrawn...)...),
	} {
		if err := a.CheckCorrection(testRound, 30000, "typed wrong"); !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), strings.ReplaceAll(name, " ", " ")) {
			t.Errorf("correcting an application %s: %v, want Conflict saying it is %s", name, err, name)
		}
	}
}

// Each correction of an award is numbered, from 1, so that whoever told of one knows
// when a later one overtook it; corrections recorded before the fund numbered them
// are counted in their order. Each says how often the report's day had moved, so
// that whoever gave the day knows when a later move overtook it.
func TestEachCorrectionOfAnAwardIsNumbered(t *testing.T) {
	t.Parallel()
	history := decided(t, 40000)
	for n, amount := range []int64{30000, 35000, 32000} {
		out, err := replay(t, history...).CorrectAward(testRound, amount, "typed wrong")
		if err != nil {
			t.Fatalf("correction %d: %v", n+1, err)
		}
		if c := out[0].(events.AwardCorrectedV1); c.Correction != n+1 {
			t.Errorf("correction %d to %d is numbered %d", n+1, amount, c.Correction)
		}
		history = append(history, out...)
	}
	older := append(decided(t, 40000),
		events.AwardCorrectedV1{ApplicationID: "a1", FromPence: 40000, ToPence: 30000, Reason: "typed wrong"},
		events.AwardCorrectedV1{ApplicationID: "a1", FromPence: 30000, ToPence: 35000, Reason: "typed wrong"})
	out, err := replay(t, older...).CorrectAward(testRound, 32000, "typed wrong")
	if err != nil {
		t.Fatal(err)
	}
	if c := out[0].(events.AwardCorrectedV1); c.Correction != 3 {
		t.Errorf("a correction after two the fund did not number is numbered %d, want 3", c.Correction)
	}

	// A correction after the report's day moved says how often it had, with the day.
	moved := append(decided(t, 40000), events.ReportDueMovedV1{ApplicationID: "a1", Move: 1, DueBefore: testRound.ReportDue(), Due: civil.New(2029, 1, 31)})
	out, err = replay(t, moved...).CorrectAward(testRound, 30000, "typed wrong")
	if err != nil {
		t.Fatal(err)
	}
	if c := out[0].(events.AwardCorrectedV1); c.DueMoves != 1 || c.ReportDue != civil.New(2029, 1, 31) || c.Correction != 1 {
		t.Errorf("a correction after the report's day moved once gives %d moves, the day %s, correction %d; want 1, 31 January 2029, 1", c.DueMoves, c.ReportDue, c.Correction)
	}
}
