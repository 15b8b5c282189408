// Package application is a Collaboration Fund application: drafted by a signatory's
// applicant, submitted while its round is open, assessed, awarded or declined by ITSS,
// and reported on after the project.
package application

import (
	"cmp"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
)

// AggregateType names applications in the event store.
const AggregateType = "application"

// Status is where an application is.
type Status string

// Application statuses.
const (
	StatusNone         Status = ""
	StatusDraft        Status = "draft"
	StatusSubmitted    Status = "submitted"
	StatusWithdrawn    Status = "withdrawn"
	StatusInAssessment Status = "in_assessment"
	StatusAwarded      Status = "awarded"
	StatusDeclined     Status = "declined"
)

// Person is someone named on an application.
type Person struct {
	Name  string
	Email string
}

// Partner is an organisation outside the lead that the project works with.
type Partner struct {
	Name           string
	OrganisationID string
}

// BudgetLine is one costed item.
type BudgetLine struct {
	Description string
	AmountPence int64
}

// Milestone is a dated step of the project.
type Milestone struct {
	Description string
	Due         civil.Date
}

// Content is what the applicant writes.
type Content struct {
	Title                string
	Summary              string
	Themes               []string
	RequestedAmountPence int64
	Partners             []Partner
	Endorsement          Person
	BudgetLines          []BudgetLine
	Milestones           []Milestone
}

// Report is the short report due after the project.
type Report struct {
	Summary    string
	SpentPence int64
}

// Application is the aggregate.
type Application struct {
	id          string
	version     int
	roundID     string
	org         string
	applicant   Person
	content     Content
	requestHash string
	status      Status
	awardPence  int64
	feedback    string
	reportDue   civil.Date
	// projectStart and projectEnd are the window the award was made, or its report
	// last moved, under (zero for an award recorded before awards carried it).
	projectStart, projectEnd civil.Date
	// dueMoves counts the moves of the report's due day (ReportDueMovedV1).
	dueMoves int
	// corrections counts the corrections of the award's amount (AwardCorrectedV1).
	corrections  int
	reportIsDue  bool
	reportChased bool
	report       *Report
	submittedAt  time.Time
	createdAt    time.Time
	updatedAt    time.Time
	withdrawnWhy string
}

// Rebuild replays an application's history.
func Rebuild(id string, history []events.Envelope) (*Application, error) {
	a := &Application{id: id}
	for _, e := range history {
		if err := a.apply(e); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Accessors.
func (a *Application) ID() string             { return a.id }
func (a *Application) Version() int           { return a.version }
func (a *Application) Exists() bool           { return a.status != StatusNone }
func (a *Application) RoundID() string        { return a.roundID }
func (a *Application) OrganisationID() string { return a.org }
func (a *Application) Applicant() Person      { return a.applicant }
func (a *Application) Content() Content       { return a.content }
func (a *Application) RequestHash() string    { return a.requestHash }
func (a *Application) Status() Status         { return a.status }
func (a *Application) AwardPence() int64      { return a.awardPence }
func (a *Application) Feedback() string       { return a.feedback }
func (a *Application) ReportDue() civil.Date  { return a.reportDue }

// ReportIsDue says the report is owed: the project ended and it is not in yet.
func (a *Application) ReportIsDue() bool      { return a.reportIsDue && a.report == nil }
func (a *Application) Report() *Report        { return a.report }
func (a *Application) SubmittedAt() time.Time { return a.submittedAt }
func (a *Application) CreatedAt() time.Time   { return a.createdAt }
func (a *Application) UpdatedAt() time.Time   { return a.updatedAt }

// WithdrawalReason says why the application was withdrawn, in words: the applicant's
// reason, or the fund's when its organisation withdrew from the Commitment. It is
// empty unless withdrawn, and when the applicant gave no reason.
func (a *Application) WithdrawalReason() string {
	if a.status != StatusWithdrawn {
		return ""
	}
	return a.withdrawnWhy
}

// Eligibility is what the service knows about the lead organisation when it decides.
type Eligibility struct {
	ActiveSignatory bool // announced, a signatory, not withdrawn
	// AnnouncedFrom is set when the organisation's announcement is dated ahead: it
	// becomes a signatory on that day.
	AnnouncedFrom    civil.Date
	FundedLastRound  bool // had an award in the previous round
	OrganisationName string
	// NominatedLeadEmail is the address the signatory service records for the
	// organisation's nominated lead (its Technician Commitment lead), empty when none
	// is known. Only that person may endorse the organisation's applications.
	NominatedLeadEmail string
	// FundedInFollowingRound, read only when awarding, names the round after this one
	// that has funded the organisation already and excludes the previous round's
	// grantees (rounds that overlap may award out of order), or is empty.
	FundedInFollowingRound string
	// UnknownPartners are the organisation ids the application gives its partners
	// that the Technician Commitment does not hold.
	UnknownPartners []string
	// Contact is the address applicants write to ITSS at (FUND_CONTACT_EMAIL): a
	// refusal that only ITSS can put right (no nominated lead is recorded) gives it,
	// since the applicant's tool, and whoever reads its error, have no other way to
	// find it.
	Contact string
}

// Draft starts an application for org in round r, at now: before the round opens
// or while it is open, never once it has closed (the draft could never be submitted).
func (a *Application) Draft(r round.Round, org string, applicant Person, c Content, requestHash string, el Eligibility, now time.Time) ([]events.Payload, error) {
	if a.Exists() {
		return nil, apperr.New(apperr.Conflict, "application %s already exists", a.id)
	}
	if r.StatusAt(now) == round.Closed {
		return nil, closedRefusal(r, "it takes no new applications")
	}
	if err := checkEligible(r, el); err != nil {
		return nil, err
	}
	if err := check(r, org, c, el); err != nil {
		return nil, err
	}
	return []events.Payload{events.ApplicationDraftedV1{
		ApplicationID: a.id, RoundID: r.ID, OrganisationID: org, Applicant: events.Person{Name: applicant.Name, Email: applicant.Email},
		Content: toEvent(c), RequestHash: requestHash,
	}}, nil
}

// Update replaces a draft's content at now, until its round closes: after that the
// draft can never be submitted, so changing it would only mislead.
func (a *Application) Update(r round.Round, c Content, el Eligibility, now time.Time) ([]events.Payload, error) {
	if a.status == StatusWithdrawn && !el.ActiveSignatory {
		// Withdrawn when its organisation left the Commitment, or before: the
		// organisation's standing is what the applicant needs to hear.
		return nil, checkEligible(r, el)
	}
	if err := a.require("update", StatusDraft); err != nil {
		return nil, err
	}
	if r.StatusAt(now) == round.Closed {
		return nil, closedRefusal(r, "its drafts can no longer be submitted or changed")
	}
	if !el.ActiveSignatory {
		// Withdrawn since it was drafted (or never able to submit): a change would be
		// kept and could never be used.
		return nil, checkEligible(r, el)
	}
	if err := check(r, a.org, c, el); err != nil {
		return nil, err
	}
	return []events.Payload{events.ApplicationUpdatedV1{ApplicationID: a.id, Content: toEvent(c)}}, nil
}

// Submit sends the draft for assessment, only while the round is open.
func (a *Application) Submit(r round.Round, el Eligibility, now time.Time) ([]events.Payload, error) {
	if err := a.require("submit", StatusDraft); err != nil {
		return nil, err
	}
	switch r.StatusAt(now) {
	case round.Upcoming:
		return nil, apperr.New(apperr.Conflict, "round %q opens at %s; it does not take submissions yet", r.Name, round.LondonTime(r.Opens))
	case round.Closed:
		return nil, closedRefusal(r, "late submissions cannot be accepted")
	}
	if err := checkEligible(r, el); err != nil {
		return nil, err
	}
	// Checked again: the organisation may have named another lead since the draft.
	if err := check(r, a.org, a.content, el); err != nil {
		return nil, err
	}
	return []events.Payload{events.ApplicationSubmittedV1{
		ApplicationID: a.id, RoundID: a.roundID, OrganisationID: a.org, Title: a.content.Title,
		RequestedAmountPence: a.content.RequestedAmountPence, Applicant: a.eventApplicant(), Endorsement: a.eventEndorsement(), SubmittedAt: now.UTC(),
	}}, nil
}

// closedRefusal is the conflict for acting on a round that has closed: it gives the
// time the round closed (early, if ops closed it early), then why that matters.
func closedRefusal(r round.Round, why string) error {
	closed := r.Closes
	if !r.ClosedAt.IsZero() && r.ClosedAt.Before(closed) {
		closed = r.ClosedAt
	}
	return apperr.New(apperr.Conflict, "round %q closed at %s; %s", r.Name, round.LondonTime(closed), why)
}

// Withdraw takes the application back, at any point before a decision.
func (a *Application) Withdraw(reason string) ([]events.Payload, error) {
	if err := a.require("withdraw", StatusDraft, StatusSubmitted, StatusInAssessment); err != nil {
		return nil, err
	}
	return []events.Payload{events.ApplicationWithdrawnV1{ApplicationID: a.id, OrganisationID: a.org, Reason: strings.TrimSpace(reason),
		RoundID: a.roundID, Title: a.content.Title, Applicant: a.eventApplicant(), SubmittedAt: a.submittedAt}}, nil
}

// WithdrawForOrganisation withdraws the application because its organisation,
// named orgName, withdrew from the Technician Commitment on the day given: it could
// never be awarded (only signatories are funded), nor changed by its applicant. A
// decided application is left as it is (an award's report is still due) and one
// already withdrawn is not withdrawn again, so it returns nothing for either.
func (a *Application) WithdrawForOrganisation(orgName string, on civil.Date) []events.Payload {
	if !slices.Contains([]Status{StatusDraft, StatusSubmitted, StatusInAssessment}, a.status) {
		return nil
	}
	return []events.Payload{events.ApplicationWithdrawnV1{ApplicationID: a.id, OrganisationID: a.org,
		Reason: OrganisationWithdrewReason(orgName, on), RoundID: a.roundID, Title: a.content.Title,
		OrganisationWithdrew: true, Applicant: a.eventApplicant(), SubmittedAt: a.submittedAt}}
}

// OrganisationWithdrewReason is the reason, in words, recorded on an application the
// fund withdrew because its organisation left the Commitment.
func OrganisationWithdrewReason(orgName string, on civil.Date) string {
	if strings.TrimSpace(orgName) == "" {
		orgName = "The organisation"
	}
	if on.IsZero() {
		return orgName + " withdrew from the Technician Commitment"
	}
	return orgName + " withdrew from the Technician Commitment on " + on.InWords()
}

// StartAssessment moves a submitted application into assessment (ops).
func (a *Application) StartAssessment() ([]events.Payload, error) {
	if err := a.require("start assessing", StatusSubmitted); err != nil {
		return nil, err
	}
	return []events.Payload{events.ApplicationAssessmentStartedV1{ApplicationID: a.id, RoundID: a.roundID, OrganisationID: a.org, Title: a.content.Title}}, nil
}

// CheckAward checks an award could be made, before the budget is drawn on: the
// amount, the round's projects not yet over on today (London's), and the
// organisation's standing now (it may have withdrawn from the
// Commitment, or been funded in the previous round after it applied to this one
// when the two rounds overlapped).
func (a *Application) CheckAward(r round.Round, amount int64, el Eligibility, today civil.Date) error {
	if err := a.checkAmount(r, amount); err != nil {
		return err
	}
	// A project already over cannot be funded: its report, counted from the
	// project's end, would be asked for by a day gone or about to go. Settling an
	// award decided in time is not checked again (Award).
	if today.After(r.ProjectEnd) {
		return apperr.New(apperr.Conflict, "the projects of round %q ended on %s, so an award now would fund a project already over; decline the application with feedback instead",
			r.Name, r.ProjectEnd.InWords())
	}
	if !el.ActiveSignatory {
		return apperr.New(apperr.Conflict, "the applicant organisation is no longer an active signatory; only signatories may be funded")
	}
	if r.ExcludePreviouslyFunded && el.FundedLastRound {
		return apperr.New(apperr.Conflict, "the applicant organisation was funded in the previous round, so round %q may not fund it", r.Name)
	}
	if el.FundedInFollowingRound != "" {
		return apperr.New(apperr.Conflict, "the applicant organisation is funded in round %q, which follows round %q and excludes the previous round's grantees, so round %q may not fund it too",
			el.FundedInFollowingRound, r.Name, r.Name)
	}
	return nil
}

// checkAmount checks an award's amount against the round and what was asked for.
func (a *Application) checkAmount(r round.Round, amount int64) error {
	if err := a.require("award", StatusInAssessment); err != nil {
		return err
	}
	if amount < r.MinAwardPence || amount > r.MaxAwardPence {
		return apperr.Field("amount_pence", "must be between %d and %d pence for this round", r.MinAwardPence, r.MaxAwardPence)
	}
	if amount > a.content.RequestedAmountPence {
		return apperr.Field("amount_pence", "must not exceed the %d pence the application requested", a.content.RequestedAmountPence)
	}
	return nil
}

// Award records the grant, once the budget has been reserved for it (CheckAward
// decided on the organisation's standing before reserving).
func (a *Application) Award(r round.Round, amount int64) ([]events.Payload, error) {
	if err := a.checkAmount(r, amount); err != nil {
		return nil, err
	}
	return []events.Payload{events.ApplicationAwardedV1{
		ApplicationID: a.id, RoundID: a.roundID, OrganisationID: a.org, Title: a.content.Title, AmountPence: amount,
		Applicant: a.eventApplicant(), Endorsement: a.eventEndorsement(), ReportDue: r.ReportDue(),
		ProjectStart: r.ProjectStart, ProjectEnd: r.ProjectEnd,
	}}, nil
}

// CheckCorrection checks that an award could be corrected to amount (ITSS typed it
// wrong), before the round's budget is drawn on: only an awarded application, for an
// amount within the round's limits and the request (400 naming amount_pence) that is
// not the amount awarded already, with a reason in words (400 naming reason), and not
// below what the report, once in, says was spent (409: the report would then claim
// more than the grant).
func (a *Application) CheckCorrection(r round.Round, amount int64, reason string) error {
	if err := a.require("correct the award of", StatusAwarded); err != nil {
		return err
	}
	var ps apperr.Problems
	switch {
	case amount < r.MinAwardPence || amount > r.MaxAwardPence || amount <= 0:
		ps.Add("amount_pence", "must be between %d and %d pence for this round", max(r.MinAwardPence, 1), r.MaxAwardPence)
	case amount > a.content.RequestedAmountPence:
		ps.Add("amount_pence", "must not exceed the %d pence the application requested", a.content.RequestedAmountPence)
	case amount == a.awardPence:
		ps.Add("amount_pence", "is the %d pence awarded already: give the amount the award should have been", a.awardPence)
	}
	if !hasWords(reason) {
		ps.Add("reason", "is required: say in words why the award is corrected, which the applicant and the organisation's lead are told")
	}
	if err := ps.Err(); err != nil {
		return err
	}
	if a.report != nil && a.report.SpentPence > amount {
		return apperr.New(apperr.Conflict, "the project's report is in and says %d pence of the grant were spent, more than the %d pence the award would be corrected to",
			a.report.SpentPence, amount)
	}
	return nil
}

// hasWords says s holds a word: a letter at least, not only spaces or punctuation.
func hasWords(s string) bool {
	return strings.ContainsFunc(s, unicode.IsLetter)
}

// CorrectAward records an award's amount corrected to amount, for reason, once the
// round's budget ledger has moved its reservation (CheckCorrection decided on it
// before): the application and its report follow the amount as corrected, and the
// report is still due on its day.
func (a *Application) CorrectAward(r round.Round, amount int64, reason string) ([]events.Payload, error) {
	if err := a.CheckCorrection(r, amount, reason); err != nil {
		return nil, err
	}
	return []events.Payload{events.AwardCorrectedV1{
		ApplicationID: a.id, RoundID: a.roundID, OrganisationID: a.org, Title: a.content.Title,
		FromPence: a.awardPence, ToPence: amount, Reason: strings.TrimSpace(reason),
		Applicant: a.eventApplicant(), Endorsement: a.eventEndorsement(), ReportDue: a.reportDue, Correction: a.corrections + 1,
		DueMoves: a.dueMoves,
	}}, nil
}

// Decline records a decision not to fund, with feedback for the applicant.
func (a *Application) Decline(feedback string) ([]events.Payload, error) {
	if err := a.require("decline", StatusSubmitted, StatusInAssessment); err != nil {
		return nil, err
	}
	feedback = strings.TrimSpace(feedback)
	if feedback == "" {
		return nil, apperr.Field("feedback", "is required: unsuccessful applicants are offered feedback")
	}
	return []events.Payload{events.ApplicationDeclinedV1{
		ApplicationID: a.id, RoundID: a.roundID, OrganisationID: a.org, Title: a.content.Title, Feedback: feedback,
		Applicant: a.eventApplicant(), Endorsement: a.eventEndorsement(),
	}}, nil
}

// MarkReportDue records that the project window ended and the report is due. It
// changes nothing when the report is already due or in.
func (a *Application) MarkReportDue(r round.Round, today civil.Date) ([]events.Payload, error) {
	if a.status != StatusAwarded || a.reportIsDue || a.report != nil || !today.After(r.ProjectEnd) {
		return nil, nil
	}
	return []events.Payload{events.ReportDueV1{
		ApplicationID: a.id, OrganisationID: a.org, Title: a.content.Title, Due: a.reportDue,
		Applicant: a.eventApplicant(), Endorsement: a.eventEndorsement(), DueMoves: a.dueMoves,
	}}, nil
}

// MarkReportOverdue records that the report was not in by its due day, which today
// (the date in London) is past: its applicant is chased for it. It changes nothing
// when the report is in, was not yet asked for, or was chased before.
func (a *Application) MarkReportOverdue(today civil.Date) ([]events.Payload, error) {
	if a.status != StatusAwarded || !a.reportIsDue || a.reportChased || a.report != nil || !today.After(a.reportDue) {
		return nil, nil
	}
	return []events.Payload{events.ReportOverdueV1{
		ApplicationID: a.id, OrganisationID: a.org, Title: a.content.Title, Due: a.reportDue,
		Applicant: a.eventApplicant(), Endorsement: a.eventEndorsement(), DueMoves: a.dueMoves,
	}}, nil
}

// MoveReportDue moves a funded project's report to the day r's project window now
// sets (ITSS corrected it), while the report is not in. Where the report stands is
// decided again by the new days, as of today (the date in London): it stays asked
// for only if the project has ended by the new window, and stays chased only if the
// new day has passed too. A report chased as overdue by a day a year short is so no
// longer overdue: the sweep chases it again, by the new day, if it is not in by then.
// It changes nothing when the day does not move, the report is in, or the
// application is not funded.
func (a *Application) MoveReportDue(r round.Round, today civil.Date) ([]events.Payload, error) {
	due := r.ReportDue()
	if a.status != StatusAwarded || a.report != nil || !due.Before(a.reportDue) && !due.After(a.reportDue) {
		return nil, nil
	}
	asked := a.reportIsDue && today.After(r.ProjectEnd)
	return []events.Payload{events.ReportDueMovedV1{
		ApplicationID: a.id, RoundID: a.roundID, OrganisationID: a.org, Title: a.content.Title, Move: a.dueMoves + 1,
		DueBefore: a.reportDue, Due: due, ProjectStartBefore: a.projectStart, ProjectEndBefore: a.projectEnd,
		ProjectStart: r.ProjectStart, ProjectEnd: r.ProjectEnd,
		Asked: asked, Chased: asked && a.reportChased && today.After(due),
		Applicant: a.eventApplicant(), Endorsement: a.eventEndorsement(),
	}}, nil
}

// SubmitReport records the project's report. It is accepted once the project is
// funded and has started (today is the date in London): a report on a project that
// has not begun reports nothing.
func (a *Application) SubmitReport(r round.Round, rep Report, today civil.Date) ([]events.Payload, error) {
	if err := a.require("report on", StatusAwarded); err != nil {
		return nil, err
	}
	if a.report != nil {
		return nil, apperr.New(apperr.Conflict, "the report for application %s has already been submitted", a.id)
	}
	if today.Before(r.ProjectStart) {
		return nil, apperr.New(apperr.Conflict, "the project starts on %s; its report can be sent from then, and is due by %s",
			r.ProjectStart.InWords(), a.reportDue.InWords())
	}
	rep.Summary = strings.TrimSpace(rep.Summary)
	if rep.Summary == "" {
		return nil, apperr.Field("summary", "is required")
	}
	if rep.SpentPence < 0 {
		return nil, apperr.Field("spent_pence", "must not be negative")
	}
	if rep.SpentPence > a.awardPence {
		return nil, apperr.Field("spent_pence", "must not exceed the %d pence awarded: report what the grant paid for", a.awardPence)
	}
	return []events.Payload{events.ReportSubmittedV1{ApplicationID: a.id, OrganisationID: a.org, Summary: rep.Summary, SpentPence: rep.SpentPence,
		RoundID: a.roundID, Title: a.content.Title, Applicant: a.eventApplicant()}}, nil
}

// check names every field of an application that breaks its round's rules (Validate)
// or what the suite records of the lead organisation (leadProblems), all at once: a
// tool that sent several mistakes learns of them in one answer, not one a time.
func check(r round.Round, org string, c Content, el Eligibility) error {
	var ps apperr.Problems
	validate(&ps, r, org, c)
	leadProblems(&ps, c, el)
	return ps.Err()
}

// leadProblems checks the application against what the suite records of the lead
// organisation and its partners: no partner is the lead itself under its recorded
// name, a partner's organisation id is one the Commitment holds, and the endorser is
// the lead's nominated lead.
func leadProblems(ps *apperr.Problems, c Content, el Eligibility) {
	for i, p := range c.Partners {
		if el.OrganisationName != "" && p.OrganisationID == "" && sameName(p.Name, el.OrganisationName) {
			ps.Add(fmt.Sprintf("partners.%d.name", i), "%q is the lead organisation itself: a partner must be an organisation outside it", strings.TrimSpace(p.Name))
		}
		if p.OrganisationID != "" && slices.Contains(el.UnknownPartners, p.OrganisationID) {
			ps.Add(fmt.Sprintf("partners.%d.organisation_id", i), "%q is not an organisation of the Technician Commitment: give the id the Commitment holds for the partner, or leave it out for a partner outside the Commitment", p.OrganisationID)
		}
	}
	endorsementProblems(ps, c, el)
}

// sameName says whether two organisation names are one name, whatever their case
// and spacing.
func sameName(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

// endorsementProblems checks the endorser is the organisation's nominated lead as the
// suite records it: the endorsement is the lead's, not whoever the applicant names.
func endorsementProblems(ps *apperr.Problems, c Content, el Eligibility) {
	switch {
	case el.NominatedLeadEmail == "":
		ps.Add("endorsement.email", "the Technician Commitment holds no nominated lead for %s, so nobody can endorse its applications yet; ask ITSS at %s to record the organisation's nominated lead", orgName(el), el.Contact)
	case !strings.EqualFold(strings.TrimSpace(c.Endorsement.Email), el.NominatedLeadEmail):
		ps.Add("endorsement.email", "must be the address of %s's nominated lead as recorded with the Technician Commitment: only the organisation's Technician Commitment lead may endorse its applications", orgName(el))
	}
}

func orgName(el Eligibility) string {
	if el.OrganisationName != "" {
		return el.OrganisationName
	}
	return "the organisation"
}

func checkEligible(r round.Round, el Eligibility) error {
	if !el.ActiveSignatory && !el.AnnouncedFrom.IsZero() {
		return apperr.New(apperr.Forbidden, "the organisation's announcement is dated %s: it may apply to the Collaboration Fund from that day", el.AnnouncedFrom.InWords())
	}
	if !el.ActiveSignatory {
		return apperr.New(apperr.Forbidden, "only announced signatories that have not withdrawn may apply to the Collaboration Fund")
	}
	if r.ExcludePreviouslyFunded && el.FundedLastRound {
		return apperr.New(apperr.Conflict, "organisations funded in the previous round may not apply to round %q", r.Name)
	}
	return nil
}

// Validate checks an application's content against its round's rules and names
// every field that breaks one.
func Validate(r round.Round, org string, c Content) error {
	var ps apperr.Problems
	validate(&ps, r, org, c)
	return ps.Err()
}

func validate(ps *apperr.Problems, r round.Round, org string, c Content) {
	if strings.TrimSpace(c.Title) == "" {
		ps.Add("title", "is required")
	}
	if strings.TrimSpace(c.Summary) == "" {
		ps.Add("summary", "is required")
	}
	if len(c.Themes) == 0 {
		ps.Add("themes", "name at least one theme")
	}
	for i, t := range c.Themes {
		if !slices.Contains(r.Themes, t) {
			ps.Add(fmt.Sprintf("themes.%d", i), "%q is not one of this round's themes: %s", t, strings.Join(r.Themes, ", "))
		}
	}
	if c.RequestedAmountPence < r.MinAwardPence || c.RequestedAmountPence > r.MaxAwardPence {
		ps.Add("requested_amount_pence", "must be between %d and %d pence for this round", r.MinAwardPence, r.MaxAwardPence)
	}
	if len(c.Partners) == 0 {
		ps.Add("partners", "a project needs at least one partner organisation outside the lead organisation")
	}
	for i, p := range c.Partners {
		if strings.TrimSpace(p.Name) == "" {
			ps.Add(fmt.Sprintf("partners.%d.name", i), "is required")
		}
		if p.OrganisationID != "" && p.OrganisationID == org {
			ps.Add(fmt.Sprintf("partners.%d.organisation_id", i), "a partner must be outside the lead organisation")
		}
	}
	if strings.TrimSpace(c.Endorsement.Name) == "" {
		ps.Add("endorsement.name", "is required: the organisation's Technician Commitment lead endorses the application")
	}
	if a, err := mail.ParseAddress(c.Endorsement.Email); err != nil || a.Address != c.Endorsement.Email {
		ps.Add("endorsement.email", "must be a plain email address")
	}
	if len(c.BudgetLines) == 0 {
		ps.Add("budget_lines", "cost the project in at least one line")
	}
	var sum int64
	lines := true
	for i, l := range c.BudgetLines {
		if strings.TrimSpace(l.Description) == "" {
			ps.Add(fmt.Sprintf("budget_lines.%d.description", i), "is required")
		}
		if l.AmountPence <= 0 {
			ps.Add(fmt.Sprintf("budget_lines.%d.amount_pence", i), "must be positive")
			lines = false
		}
		sum += l.AmountPence
	}
	if lines && len(c.BudgetLines) > 0 && sum != c.RequestedAmountPence {
		ps.Add("budget_lines", "must add up to the amount requested, %d pence, but add up to %d pence", c.RequestedAmountPence, sum)
	}
	if len(c.Milestones) == 0 {
		ps.Add("milestones", "give at least one milestone")
	}
	for i, m := range c.Milestones {
		if strings.TrimSpace(m.Description) == "" {
			ps.Add(fmt.Sprintf("milestones.%d.description", i), "is required")
		}
		if m.Due.Before(r.ProjectStart) || m.Due.After(r.ProjectEnd) {
			ps.Add(fmt.Sprintf("milestones.%d.due", i), "%s is outside the project window, %s to %s", m.Due.InWords(), r.ProjectStart.InWords(), r.ProjectEnd.InWords())
		}
	}
}

func (a *Application) require(action string, allowed ...Status) error {
	if slices.Contains(allowed, a.status) {
		return nil
	}
	if a.status == StatusNone {
		return apperr.New(apperr.NotFound, "application %s not found", a.id)
	}
	return apperr.New(apperr.Conflict, "cannot %s an application that is %s", action, strings.ReplaceAll(string(a.status), "_", " "))
}

func (a *Application) eventApplicant() events.Person {
	return events.Person{Name: a.applicant.Name, Email: a.applicant.Email}
}

func (a *Application) eventEndorsement() events.Person {
	return events.Person{Name: a.content.Endorsement.Name, Email: a.content.Endorsement.Email}
}

func (a *Application) apply(e events.Envelope) error {
	var err error
	switch e.Type {
	case events.ApplicationDraftedV1{}.EventType():
		var p events.ApplicationDraftedV1
		if p, err = events.Decode[events.ApplicationDraftedV1](e); err == nil {
			a.roundID, a.org, a.requestHash = p.RoundID, p.OrganisationID, p.RequestHash
			a.applicant = Person{Name: p.Applicant.Name, Email: p.Applicant.Email}
			a.content = fromEvent(p.Content)
			a.status, a.createdAt = StatusDraft, e.Time
		}
	case events.ApplicationUpdatedV1{}.EventType():
		var p events.ApplicationUpdatedV1
		if p, err = events.Decode[events.ApplicationUpdatedV1](e); err == nil {
			a.content = fromEvent(p.Content)
		}
	case events.ApplicationSubmittedV1{}.EventType():
		var p events.ApplicationSubmittedV1
		if p, err = events.Decode[events.ApplicationSubmittedV1](e); err == nil {
			a.status, a.submittedAt = StatusSubmitted, p.SubmittedAt
		}
	case events.ApplicationWithdrawnV1{}.EventType():
		var p events.ApplicationWithdrawnV1
		if p, err = events.Decode[events.ApplicationWithdrawnV1](e); err == nil {
			a.status, a.withdrawnWhy = StatusWithdrawn, p.Reason
		}
	case events.ApplicationAssessmentStartedV1{}.EventType():
		a.status = StatusInAssessment
	case events.ApplicationAwardedV1{}.EventType():
		var p events.ApplicationAwardedV1
		if p, err = events.Decode[events.ApplicationAwardedV1](e); err == nil {
			a.status, a.awardPence, a.reportDue = StatusAwarded, p.AmountPence, p.ReportDue
			a.projectStart, a.projectEnd = p.ProjectStart, p.ProjectEnd
		}
	case events.ReportDueMovedV1{}.EventType():
		var p events.ReportDueMovedV1
		if p, err = events.Decode[events.ReportDueMovedV1](e); err == nil {
			a.reportDue, a.projectStart, a.projectEnd, a.dueMoves = p.Due, p.ProjectStart, p.ProjectEnd, p.Move
			a.reportIsDue, a.reportChased = p.Asked, p.Chased
		}
	case events.AwardCorrectedV1{}.EventType():
		var p events.AwardCorrectedV1
		if p, err = events.Decode[events.AwardCorrectedV1](e); err == nil {
			// One recorded before corrections were numbered counts in its order.
			a.awardPence, a.corrections = p.ToPence, cmp.Or(p.Correction, a.corrections+1)
		}
	case events.ApplicationDeclinedV1{}.EventType():
		var p events.ApplicationDeclinedV1
		if p, err = events.Decode[events.ApplicationDeclinedV1](e); err == nil {
			a.status, a.feedback = StatusDeclined, p.Feedback
		}
	case events.ReportDueV1{}.EventType():
		a.reportIsDue = true
	case events.ReportOverdueV1{}.EventType():
		a.reportChased = true
	case events.ReportSubmittedV1{}.EventType():
		var p events.ReportSubmittedV1
		if p, err = events.Decode[events.ReportSubmittedV1](e); err == nil {
			a.report = &Report{Summary: p.Summary, SpentPence: p.SpentPence}
		}
	default:
		return fmt.Errorf("application %s: unknown event type %s", a.id, e.Type)
	}
	if err != nil {
		return fmt.Errorf("application %s: %w", a.id, err)
	}
	a.version, a.updatedAt = e.Version, e.Time
	return nil
}

func toEvent(c Content) events.FundApplication {
	out := events.FundApplication{
		Title: strings.TrimSpace(c.Title), Summary: strings.TrimSpace(c.Summary), Themes: c.Themes,
		RequestedAmountPence: c.RequestedAmountPence, Endorsement: events.Person{Name: c.Endorsement.Name, Email: c.Endorsement.Email},
	}
	for _, p := range c.Partners {
		out.Partners = append(out.Partners, events.FundPartner{Name: p.Name, OrganisationID: p.OrganisationID})
	}
	for _, l := range c.BudgetLines {
		out.BudgetLines = append(out.BudgetLines, events.FundBudgetLine{Description: l.Description, AmountPence: l.AmountPence})
	}
	for _, m := range c.Milestones {
		out.Milestones = append(out.Milestones, events.FundMilestone{Description: m.Description, Due: m.Due})
	}
	return out
}

func fromEvent(c events.FundApplication) Content {
	out := Content{
		Title: c.Title, Summary: c.Summary, Themes: c.Themes, RequestedAmountPence: c.RequestedAmountPence,
		Endorsement: Person{Name: c.Endorsement.Name, Email: c.Endorsement.Email},
	}
	for _, p := range c.Partners {
		out.Partners = append(out.Partners, Partner{Name: p.Name, OrganisationID: p.OrganisationID})
	}
	for _, l := range c.BudgetLines {
		out.BudgetLines = append(out.BudgetLines, BudgetLine{Description: l.Description, AmountPence: l.AmountPence})
	}
	for _, m := range c.Milestones {
		out.Milestones = append(out.Milestones, Milestone{Description: m.Description, Due: m.Due})
	}
	return out
}
