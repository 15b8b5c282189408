package events

import (
	"time"

	"github.com/itss/techcommit/libs/civil"
)

// Subjects the fund service publishes (without version suffix).
const (
	SubjectRoundOpened                  = "tc.fund.round.opened"
	SubjectRoundUpdated                 = "tc.fund.round.updated"
	SubjectRoundClosed                  = "tc.fund.round.closed"
	SubjectBudgetReserved               = "tc.fund.budget.reserved"
	SubjectBudgetReleased               = "tc.fund.budget.released"
	SubjectBudgetAdjusted               = "tc.fund.budget.adjusted"
	SubjectBudgetSet                    = "tc.fund.budget.set"
	SubjectApplicationDrafted           = "tc.fund.application.drafted"
	SubjectApplicationUpdated           = "tc.fund.application.updated"
	SubjectApplicationSubmitted         = "tc.fund.application.submitted"
	SubjectApplicationWithdrawn         = "tc.fund.application.withdrawn"
	SubjectApplicationAssessmentStarted = "tc.fund.application.assessment_started"
	SubjectApplicationAwarded           = "tc.fund.application.awarded"
	SubjectApplicationDeclined          = "tc.fund.application.declined"
	SubjectAwardCorrected               = "tc.fund.application.award_corrected"
	SubjectReportDue                    = "tc.fund.application.report_due"
	SubjectReportOverdue                = "tc.fund.application.report_overdue"
	SubjectReportDueMoved               = "tc.fund.application.report_due_moved"
	SubjectReportSubmitted              = "tc.fund.application.report_submitted"
	SubjectFundingClaimed               = "tc.fund.funding.claimed"
	SubjectFundingReleased              = "tc.fund.funding.released"
	SubjectFundingReorderChecked        = "tc.fund.funding.reorder_checked"
	SubjectWindowCorrectionBegun        = "tc.fund.window.correction_begun"
	SubjectWindowCorrectionDropped      = "tc.fund.window.correction_dropped"
	SubjectWindowSubmissionChecked      = "tc.fund.window.submission_checked"
	SubjectWindowSubmissionDropped      = "tc.fund.window.submission_dropped"
)

// RoundOpenedV1 creates a Collaboration Fund round. Times are instants (the API
// takes them in Europe/London); amounts are integer pence.
type RoundOpenedV1 struct {
	RoundID                 string     `json:"round_id"`
	Name                    string     `json:"name"`
	Opens                   time.Time  `json:"opens"`
	Closes                  time.Time  `json:"closes"`
	BudgetPence             int64      `json:"budget_pence"`
	MinAwardPence           int64      `json:"min_award_pence"`
	MaxAwardPence           int64      `json:"max_award_pence"`
	ProjectStart            civil.Date `json:"project_start"`
	ProjectEnd              civil.Date `json:"project_end"`
	Themes                  []string   `json:"themes"`
	ExcludePreviouslyFunded bool       `json:"exclude_previously_funded"`
}

// EventType implements Payload.
func (RoundOpenedV1) EventType() string { return SubjectRoundOpened + ".v1" }

// RoundUpdatedV1 replaces a round's terms, as ops corrected them. It carries the whole
// round as it now stands, so a consumer needs no earlier event to act on it. Before a
// round opens anything may change; once open, only its name and closing time.
type RoundUpdatedV1 struct {
	RoundID                 string     `json:"round_id"`
	Name                    string     `json:"name"`
	Opens                   time.Time  `json:"opens"`
	Closes                  time.Time  `json:"closes"`
	BudgetPence             int64      `json:"budget_pence"`
	MinAwardPence           int64      `json:"min_award_pence"`
	MaxAwardPence           int64      `json:"max_award_pence"`
	ProjectStart            civil.Date `json:"project_start"`
	ProjectEnd              civil.Date `json:"project_end"`
	Themes                  []string   `json:"themes"`
	ExcludePreviouslyFunded bool       `json:"exclude_previously_funded"`
}

// EventType implements Payload.
func (RoundUpdatedV1) EventType() string { return SubjectRoundUpdated + ".v1" }

// RoundClosedV1 says a round stopped taking submissions: at its closing time (Early
// false, recorded by the service's sweep soon after) or earlier, by ops (Early true).
type RoundClosedV1 struct {
	RoundID  string    `json:"round_id"`
	Name     string    `json:"name"`
	ClosedAt time.Time `json:"closed_at"`
	Early    bool      `json:"early,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// EventType implements Payload.
func (RoundClosedV1) EventType() string { return SubjectRoundClosed + ".v1" }

// BudgetReservedV1 draws an award on a round's budget ledger.
type BudgetReservedV1 struct {
	RoundID        string `json:"round_id"`
	ApplicationID  string `json:"application_id"`
	AmountPence    int64  `json:"amount_pence"`
	RemainingPence int64  `json:"remaining_pence"`
}

// EventType implements Payload.
func (BudgetReservedV1) EventType() string { return SubjectBudgetReserved + ".v1" }

// BudgetReleasedV1 returns a reservation whose award could not be recorded.
//
// LetGoClaim, when set, is the version of the fund's funding record at which the
// application's claim (FundingClaimedV1) was made, whose award this entry lets go
// before it drew anything: its request stopped after the claim and before the ledger
// reserved the money, and the round sweep lets the claim go so that it refuses no
// other award. Such an entry releases nothing (AmountPence 0), and the ledger refuses
// a reservation made under that claim, however late its request. Absent from the
// releases of the release before, which were all of reservations.
type BudgetReleasedV1 struct {
	RoundID        string `json:"round_id"`
	ApplicationID  string `json:"application_id"`
	AmountPence    int64  `json:"amount_pence"`
	RemainingPence int64  `json:"remaining_pence"`
	LetGoClaim     int    `json:"let_go_claim,omitempty"`
}

// EventType implements Payload.
func (BudgetReleasedV1) EventType() string { return SubjectBudgetReleased + ".v1" }

// BudgetAdjustedV1 moves an award's reservation on a round's budget ledger from one
// amount to another, in one entry: ITSS corrected the award (typed £5,000 for £500,
// or £50 for £500). Being one entry of the ledger, it is decided against the budget
// as it stands after every award before it, and no award racing it can leave the
// round over its budget. Reason is ITSS's, in words, which the application's
// AwardCorrectedV1 carries on. Reverted says the entry puts back a correction the
// application refused after the ledger took it (it was withdrawn, its report came
// in meanwhile, or it changed since ITSS read it): it settles nothing.
type BudgetAdjustedV1 struct {
	RoundID        string `json:"round_id"`
	ApplicationID  string `json:"application_id"`
	FromPence      int64  `json:"from_pence"`
	ToPence        int64  `json:"to_pence"`
	RemainingPence int64  `json:"remaining_pence"`
	Reason         string `json:"reason"`
	Reverted       bool   `json:"reverted,omitempty"`
}

// EventType implements Payload.
func (BudgetAdjustedV1) EventType() string { return SubjectBudgetAdjusted + ".v1" }

// BudgetSetV1 records on a round's budget ledger the budget ITSS corrected it to,
// raised or lowered, from FromPence to ToPence, with AwardedPence what the ledger held
// awarded when it was set. Being an entry of the ledger, it is decided in one order
// with every award: a lowering is never below what is awarded, and an award racing it
// is decided against the budget it set. From it on, the ledger's budget is its own,
// not the round's (RoundUpdatedV1 records the same amount after it).
//
// RoundVersion is the round's version the entry was decided on (absent from entries
// written before it was added). An entry that does not follow (Follows false) holds a
// lowering for a change of the round decided on that version, which the round records
// at the next version or never: until then the ledger holds the lower budget, so no
// award can draw on what the round is about to give up. An entry that follows sets
// the budget the round recorded at RoundVersion: a raise once the round recorded it,
// or a lowering the round never recorded put back.
type BudgetSetV1 struct {
	RoundID      string `json:"round_id"`
	FromPence    int64  `json:"from_pence"`
	ToPence      int64  `json:"to_pence"`
	AwardedPence int64  `json:"awarded_pence"`
	RoundVersion int    `json:"round_version,omitempty"`
	Follows      bool   `json:"follows,omitempty"`
}

// EventType implements Payload.
func (BudgetSetV1) EventType() string { return SubjectBudgetSet + ".v1" }

// FundPartner is an organisation a project works with, outside the lead organisation.
type FundPartner struct {
	Name           string `json:"name"`
	OrganisationID string `json:"organisation_id,omitempty"`
}

// FundBudgetLine is one costed item of a project.
type FundBudgetLine struct {
	Description string `json:"description"`
	AmountPence int64  `json:"amount_pence"`
}

// FundMilestone is a dated step of a project.
type FundMilestone struct {
	Description string     `json:"description"`
	Due         civil.Date `json:"due"`
}

// FundApplication is the content of an application, as drafted or updated.
type FundApplication struct {
	Title                string           `json:"title"`
	Summary              string           `json:"summary"`
	Themes               []string         `json:"themes"`
	RequestedAmountPence int64            `json:"requested_amount_pence"`
	Partners             []FundPartner    `json:"partners"`
	Endorsement          Person           `json:"endorsement"`
	BudgetLines          []FundBudgetLine `json:"budget_lines"`
	Milestones           []FundMilestone  `json:"milestones"`
}

// ApplicationDraftedV1 starts an application. The endorsement names the organisation's
// Technician Commitment lead: the fund accepts only the address the signatory service
// records for the organisation's nominated lead. Whoever writes to the organisation
// about its applications should find the address it holds for OrganisationID (which
// every application event carries) rather than trust an address in a payload.
type ApplicationDraftedV1 struct {
	ApplicationID  string          `json:"application_id"`
	RoundID        string          `json:"round_id"`
	OrganisationID string          `json:"organisation_id"`
	Applicant      Person          `json:"applicant"`
	Content        FundApplication `json:"content"`
	// RequestHash identifies the request that created it, so a retry with the same
	// idempotency key can be told from a different request under the same key.
	RequestHash string `json:"request_hash"`
}

// EventType implements Payload.
func (ApplicationDraftedV1) EventType() string { return SubjectApplicationDrafted + ".v1" }

// ApplicationUpdatedV1 replaces a draft's content.
type ApplicationUpdatedV1 struct {
	ApplicationID string          `json:"application_id"`
	Content       FundApplication `json:"content"`
}

// EventType implements Payload.
func (ApplicationUpdatedV1) EventType() string { return SubjectApplicationUpdated + ".v1" }

// ApplicationSubmittedV1 says the application was submitted while its round was open.
type ApplicationSubmittedV1 struct {
	ApplicationID        string    `json:"application_id"`
	RoundID              string    `json:"round_id"`
	OrganisationID       string    `json:"organisation_id"`
	Title                string    `json:"title"`
	RequestedAmountPence int64     `json:"requested_amount_pence"`
	Applicant            Person    `json:"applicant"`
	Endorsement          Person    `json:"endorsement"`
	SubmittedAt          time.Time `json:"submitted_at"`
}

// EventType implements Payload.
func (ApplicationSubmittedV1) EventType() string { return SubjectApplicationSubmitted + ".v1" }

// ApplicationWithdrawnV1 says the application was taken back before a decision: by
// the applicant, or by the fund itself when the organisation withdrew from the
// Technician Commitment (OrganisationWithdrew).
type ApplicationWithdrawnV1 struct {
	ApplicationID  string `json:"application_id"`
	OrganisationID string `json:"organisation_id"`
	Reason         string `json:"reason,omitempty"`
	// RoundID and Title are set from their addition on; older events lack them.
	RoundID string `json:"round_id,omitempty"`
	Title   string `json:"title,omitempty"`
	// OrganisationWithdrew says the fund withdrew the application because the
	// organisation withdrew from the Technician Commitment, not the applicant;
	// Reason then says so in words. Applicant, who notify tells, is set from its
	// addition on; older events lack both.
	OrganisationWithdrew bool   `json:"organisation_withdrew,omitempty"`
	Applicant            Person `json:"applicant,omitzero"`
	// SubmittedAt is when the application was submitted, for one withdrawn after
	// its submission (its lead was told of its receipt, and is told it is
	// withdrawn); zero for a draft. It is set from its addition on; older events
	// lack it, and say nothing of whether it was submitted.
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
}

// EventType implements Payload.
func (ApplicationWithdrawnV1) EventType() string { return SubjectApplicationWithdrawn + ".v1" }

// ApplicationAssessmentStartedV1 says ops started assessing it. The round,
// organisation and title are set from their addition on (older events lack them), so
// that a consumer can tell the organisation without a read model of applications.
type ApplicationAssessmentStartedV1 struct {
	ApplicationID  string `json:"application_id"`
	RoundID        string `json:"round_id,omitempty"`
	OrganisationID string `json:"organisation_id,omitempty"`
	Title          string `json:"title,omitempty"`
}

// EventType implements Payload.
func (ApplicationAssessmentStartedV1) EventType() string {
	return SubjectApplicationAssessmentStarted + ".v1"
}

// ApplicationAwardedV1 records a grant. The report is due after ReportDue.
type ApplicationAwardedV1 struct {
	ApplicationID  string     `json:"application_id"`
	RoundID        string     `json:"round_id"`
	OrganisationID string     `json:"organisation_id"`
	Title          string     `json:"title"`
	AmountPence    int64      `json:"amount_pence"`
	Applicant      Person     `json:"applicant"`
	Endorsement    Person     `json:"endorsement"`
	ReportDue      civil.Date `json:"report_due"`
	// ProjectStart and ProjectEnd are the round's project window, in which the
	// project runs: set from their addition on; older events lack them.
	ProjectStart civil.Date `json:"project_start,omitzero"`
	ProjectEnd   civil.Date `json:"project_end,omitzero"`
}

// EventType implements Payload.
func (ApplicationAwardedV1) EventType() string { return SubjectApplicationAwarded + ".v1" }

// ApplicationDeclinedV1 records a decision not to fund, with the feedback offered.
type ApplicationDeclinedV1 struct {
	ApplicationID  string `json:"application_id"`
	RoundID        string `json:"round_id"`
	OrganisationID string `json:"organisation_id"`
	Title          string `json:"title"`
	Feedback       string `json:"feedback"`
	Applicant      Person `json:"applicant"`
	Endorsement    Person `json:"endorsement"`
}

// EventType implements Payload.
func (ApplicationDeclinedV1) EventType() string { return SubjectApplicationDeclined + ".v1" }

// AwardCorrectedV1 records that ITSS corrected an award's amount, typed wrong, from
// FromPence to ToPence, for the reason given in words; who corrected it is the
// event's actor. The report is still due on ReportDue, and is held to the amount
// as corrected. It names the applicant and the endorsement as the award does, for
// whoever tells them. Correction counts the corrections of this application's
// award, from 1, so that whoever told of one knows when a later one overtook it.
type AwardCorrectedV1 struct {
	ApplicationID  string     `json:"application_id"`
	RoundID        string     `json:"round_id"`
	OrganisationID string     `json:"organisation_id"`
	Title          string     `json:"title"`
	FromPence      int64      `json:"from_pence"`
	ToPence        int64      `json:"to_pence"`
	Reason         string     `json:"reason"`
	Applicant      Person     `json:"applicant"`
	Endorsement    Person     `json:"endorsement"`
	ReportDue      civil.Date `json:"report_due"`
	// Correction is set from its addition on; older events lack it (zero), and are
	// counted in their order on the application.
	Correction int `json:"correction,omitempty"`
	// DueMoves is how many times the report's due day had moved (ReportDueMovedV1)
	// when this was recorded, so that whoever says the report is due on ReportDue
	// knows when a later move overtook it. Set from its addition on, and only once a
	// day moved; older events lack it.
	DueMoves int `json:"due_moves,omitempty"`
}

// EventType implements Payload.
func (AwardCorrectedV1) EventType() string { return SubjectAwardCorrected + ".v1" }

// ReportDueV1 says a funded project's window has ended and its short report is due.
type ReportDueV1 struct {
	ApplicationID  string     `json:"application_id"`
	OrganisationID string     `json:"organisation_id"`
	Title          string     `json:"title"`
	Due            civil.Date `json:"due"`
	Applicant      Person     `json:"applicant"`
	Endorsement    Person     `json:"endorsement"`
	// DueMoves is how many times the report's due day had moved (ReportDueMovedV1)
	// when this was recorded: a report asked for again by a moved day is asked for
	// anew. Set from its addition on, and only once a day moved; older events lack it.
	DueMoves int `json:"due_moves,omitempty"`
}

// EventType implements Payload.
func (ReportDueV1) EventType() string { return SubjectReportDue + ".v1" }

// ReportOverdueV1 says a funded project's report was not in by the day it was due
// (Due, a month after the project ended): the applicant and the organisation's lead
// are chased for it, once for each due day.
type ReportOverdueV1 struct {
	ApplicationID  string     `json:"application_id"`
	OrganisationID string     `json:"organisation_id"`
	Title          string     `json:"title"`
	Due            civil.Date `json:"due"`
	Applicant      Person     `json:"applicant"`
	Endorsement    Person     `json:"endorsement"`
	// DueMoves is how many times the report's due day had moved (ReportDueMovedV1)
	// when this was recorded: a report overdue by a moved day is chased anew. Set from
	// its addition on, and only once a day moved; older events lack it.
	DueMoves int `json:"due_moves,omitempty"`
}

// EventType implements Payload.
func (ReportOverdueV1) EventType() string { return SubjectReportOverdue + ".v1" }

// ReportDueMovedV1 says a funded project's report falls due on another day: ITSS
// corrected its round's project window (RoundUpdatedV1), and the report is due a
// month after the window's new end. It carries the days before and after, the
// window before (zero for an award recorded before awards carried it) and after,
// and where the report stands now: Asked, the project having ended by the new
// window (a ReportDueV1 before it stands; otherwise one follows once it has ended),
// and Chased, the report being overdue by the new day too (a ReportOverdueV1 before
// it stands; otherwise one follows once the new day has passed). The applicant and
// the organisation's lead are told once (Move counts the moves of this
// application's day, from 1).
type ReportDueMovedV1 struct {
	ApplicationID      string     `json:"application_id"`
	RoundID            string     `json:"round_id"`
	OrganisationID     string     `json:"organisation_id"`
	Title              string     `json:"title"`
	Move               int        `json:"move"`
	DueBefore          civil.Date `json:"due_before"`
	Due                civil.Date `json:"due"`
	ProjectStartBefore civil.Date `json:"project_start_before,omitzero"`
	ProjectEndBefore   civil.Date `json:"project_end_before,omitzero"`
	ProjectStart       civil.Date `json:"project_start"`
	ProjectEnd         civil.Date `json:"project_end"`
	Asked              bool       `json:"asked"`
	Chased             bool       `json:"chased"`
	Applicant          Person     `json:"applicant"`
	Endorsement        Person     `json:"endorsement"`
}

// EventType implements Payload.
func (ReportDueMovedV1) EventType() string { return SubjectReportDueMoved + ".v1" }

// ReportSubmittedV1 records the project's report.
type ReportSubmittedV1 struct {
	ApplicationID  string `json:"application_id"`
	OrganisationID string `json:"organisation_id"`
	Summary        string `json:"summary"`
	SpentPence     int64  `json:"spent_pence"`
	// RoundID and Title are set from their addition on; older events lack them.
	RoundID string `json:"round_id,omitempty"`
	Title   string `json:"title,omitempty"`
	// Applicant, to whom notify sends the report's receipt, is set from its addition
	// on; older events lack it. The endorsement is not carried: the lead's copy goes to
	// the lead the signatory service names, as for the award.
	Applicant Person `json:"applicant,omitzero"`
}

// EventType implements Payload.
func (ReportSubmittedV1) EventType() string { return SubjectReportSubmitted + ".v1" }

// FundingClaimedV1 records on the fund's funding record that a round is awarding an
// organisation a grant (the award follows). Every award claims here first, so that
// two awards to one organisation in rounds bound by the rule on the previous round's
// grantees, and a change to the rounds' order that would bind them, however
// concurrent, are decided one after the other. Older claims were made only by
// awards in rounds so bound, each on its organisation's own record.
type FundingClaimedV1 struct {
	OrganisationID string `json:"organisation_id"`
	RoundID        string `json:"round_id"`
	ApplicationID  string `json:"application_id"`
}

// EventType implements Payload.
func (FundingClaimedV1) EventType() string { return SubjectFundingClaimed + ".v1" }

// FundingReleasedV1 withdraws a claim whose award was refused after all (the budget
// could not cover it, or the application could no longer take it).
type FundingReleasedV1 struct {
	OrganisationID string `json:"organisation_id"`
	RoundID        string `json:"round_id"`
	ApplicationID  string `json:"application_id"`
}

// EventType implements Payload.
func (FundingReleasedV1) EventType() string { return SubjectFundingReleased + ".v1" }

// FundingReorderCheckedV1 records on the fund's funding record that a change to a
// round's dates (a corrected closing or opening time, an early close, a cancellation)
// that changes which rounds are neighbours under the rule on the previous round's
// grantees was checked against the organisations funded, and that the round's own
// event may follow, as the round's version RoundVersion, with these terms. Until the
// round reaches that version, awards are decided on the order of rounds both with and
// without the change.
type FundingReorderCheckedV1 struct {
	RoundID                 string    `json:"round_id"`
	RoundVersion            int       `json:"round_version"`
	Name                    string    `json:"name"`
	Opens                   time.Time `json:"opens"`
	Closes                  time.Time `json:"closes"`
	ClosedAt                time.Time `json:"closed_at,omitzero"`
	ExcludePreviouslyFunded bool      `json:"exclude_previously_funded,omitempty"`
}

// EventType implements Payload.
func (FundingReorderCheckedV1) EventType() string { return SubjectFundingReorderChecked + ".v1" }

// WindowCorrectionBegunV1 records on one of a round's window records (a round has
// several, each taking the submissions of some of its applications) that ITSS is
// correcting the round's project window, decided on the round's version RoundVersion,
// to ProjectStart to ProjectEnd; CorrectionID is the same on each record. A
// submission checked on the record after it is held to that window as well as the
// round's, until the round moves past RoundVersion, the correction is dropped
// (WindowCorrectionDroppedV1), or a minute has passed (the correction's request has
// stopped by then). The correction, for its part, reads every submission checked on
// the records before it (WindowSubmissionCheckedV1): so a submission and a correction
// racing each other cannot both be recorded with a milestone outside the window.
type WindowCorrectionBegunV1 struct {
	RoundID      string     `json:"round_id"`
	CorrectionID string     `json:"correction_id"`
	RoundVersion int        `json:"round_version"`
	ProjectStart civil.Date `json:"project_start"`
	ProjectEnd   civil.Date `json:"project_end"`
}

// EventType implements Payload.
func (WindowCorrectionBegunV1) EventType() string { return SubjectWindowCorrectionBegun + ".v1" }

// WindowCorrectionDroppedV1 records on a round's window record that the correction
// CorrectionID (WindowCorrectionBegunV1) was refused or failed, and holds no
// submission to its window any more.
type WindowCorrectionDroppedV1 struct {
	RoundID      string `json:"round_id"`
	CorrectionID string `json:"correction_id"`
}

// EventType implements Payload.
func (WindowCorrectionDroppedV1) EventType() string { return SubjectWindowCorrectionDropped + ".v1" }

// WindowSubmissionCheckedV1 records on one of a round's window records that the
// application ApplicationID, at its version ApplicationVersion (a draft), was checked
// for submission with its milestones, the first due on FirstMilestone and the last on
// LastMilestone, inside the round's project window as of the round's version
// RoundVersion and inside the window of every correction begun on the record before
// it; its ApplicationSubmittedV1 follows, at the next version. A correction of the
// window begun after it reads it, and counts the application as submitted while that
// may still follow, unless its request said it failed (WindowSubmissionDroppedV1).
type WindowSubmissionCheckedV1 struct {
	RoundID            string     `json:"round_id"`
	ApplicationID      string     `json:"application_id"`
	ApplicationVersion int        `json:"application_version"`
	RoundVersion       int        `json:"round_version"`
	FirstMilestone     civil.Date `json:"first_milestone"`
	LastMilestone      civil.Date `json:"last_milestone"`
}

// EventType implements Payload.
func (WindowSubmissionCheckedV1) EventType() string { return SubjectWindowSubmissionChecked + ".v1" }

// WindowSubmissionDroppedV1 records on a round's window record that the submission
// checked there by the event CheckID (WindowSubmissionCheckedV1) was not recorded:
// its request failed after the check. A correction of the window begun after it no
// longer counts the application as being submitted by that check, and reads it as it
// stands (submitted, should the submission have been recorded after all).
type WindowSubmissionDroppedV1 struct {
	RoundID       string `json:"round_id"`
	ApplicationID string `json:"application_id"`
	CheckID       string `json:"check_id"`
}

// EventType implements Payload.
func (WindowSubmissionDroppedV1) EventType() string { return SubjectWindowSubmissionDropped + ".v1" }
