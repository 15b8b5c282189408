package events

import "github.com/itss/techcommit/libs/civil"

// Subjects the signatory service publishes (without version suffix).
const (
	SubjectOrganisationEnquiryReceived = "tc.signatory.organisation.enquiry_received"
	SubjectOrganisationMeetingHeld     = "tc.signatory.organisation.meeting_held"
	SubjectOrganisationFormReceived    = "tc.signatory.organisation.form_received"
	SubjectOrganisationAnnounced       = "tc.signatory.organisation.announced"
	SubjectOrganisationContactsChanged = "tc.signatory.organisation.contacts_changed"
	SubjectOrganisationWithdrawn       = "tc.signatory.organisation.withdrawn"
	SubjectOrganisationSuccession      = "tc.signatory.organisation.succession_recorded"
	SubjectAnnouncementCorrected       = "tc.signatory.organisation.announcement_corrected"
	SubjectMeetingCorrected            = "tc.signatory.organisation.meeting_corrected"
	SubjectFormCorrected               = "tc.signatory.organisation.form_corrected"
	SubjectObligationScheduled         = "tc.signatory.organisation.obligation_scheduled"
	SubjectObligationMet               = "tc.signatory.organisation.obligation_met"
)

// Person is someone named by an organisation: its leader, nominated lead or point of contact.
type Person struct {
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
	Email string `json:"email,omitempty"`
	// Erased says someone was named here who has since been erased at their request:
	// the event keeps the fact, not who (docs/PRIVACY.md); optional within v1.
	Erased bool `json:"erased,omitempty"`
}

// OrganisationEnquiryReceivedV1 opens an organisation's record: it has asked to join.
type OrganisationEnquiryReceivedV1 struct {
	OrganisationID string `json:"organisation_id"`
	Name           string `json:"name"`
	Kind           string `json:"kind"` // signatory or supporter
	Sector         string `json:"sector"`
	Country        string `json:"country"`
	Website        string `json:"website"`
	EnquiryContact Person `json:"enquiry_contact"`
	// EnquiredOn is the day the enquiry reached ITSS, when the record says so
	// (optional: absent from earlier events and from records made without it).
	EnquiredOn civil.Date `json:"enquired_on,omitzero"`
}

// EventType implements Payload.
func (OrganisationEnquiryReceivedV1) EventType() string {
	return SubjectOrganisationEnquiryReceived + ".v1"
}

// OrganisationMeetingHeldV1 records that ITSS met the organisation.
type OrganisationMeetingHeldV1 struct {
	OrganisationID string     `json:"organisation_id"`
	HeldOn         civil.Date `json:"held_on"`
	Notes          string     `json:"notes,omitempty"`
}

// EventType implements Payload.
func (OrganisationMeetingHeldV1) EventType() string { return SubjectOrganisationMeetingHeld + ".v1" }

// OrganisationFormReceivedV1 records the signed signatory or supporter form.
type OrganisationFormReceivedV1 struct {
	OrganisationID string     `json:"organisation_id"`
	SignedOn       civil.Date `json:"signed_on"`
	Leader         Person     `json:"leader"`
	NominatedLead  Person     `json:"nominated_lead"`
	PointOfContact Person     `json:"point_of_contact"`
	PlanPage       string     `json:"plan_page,omitempty"`
}

// EventType implements Payload.
func (OrganisationFormReceivedV1) EventType() string { return SubjectOrganisationFormReceived + ".v1" }

// OrganisationAnnouncedV1 records the joint public announcement: from here the
// organisation is listed publicly and its obligation clock runs.
type OrganisationAnnouncedV1 struct {
	OrganisationID string     `json:"organisation_id"`
	Name           string     `json:"name"`
	Kind           string     `json:"kind"`
	AnnouncedOn    civil.Date `json:"announced_on"`
	Website        string     `json:"website"`
	PlanPage       string     `json:"plan_page,omitempty"`
	PointOfContact Person     `json:"point_of_contact"`
	NominatedLead  Person     `json:"nominated_lead"`
	Leader         Person     `json:"leader"`
	// Succeeds is the organisation this one succeeds: one that withdrew and signed
	// again as a new record. The rules that follow an organisation (the fund's
	// exclusion of the previous round's grantees, reviewers' conflicts) treat the
	// two as one. Optional within v1: absent from earlier events and from an
	// organisation that succeeds none.
	Succeeds string `json:"succeeds,omitempty"`
}

// EventType implements Payload.
func (OrganisationAnnouncedV1) EventType() string { return SubjectOrganisationAnnounced + ".v1" }

// OrganisationSuccessionRecordedV1 records, after the announcement, the organisation
// this one succeeds: one that withdrew and signed again as this new record, which
// its announcement did not name (ITSS forgot, or it was announced before a record
// could name one). From it the rules that follow an organisation (the fund's
// exclusion of the previous round's grantees, reviewers' conflicts) hold the two as
// one, exactly as for OrganisationAnnouncedV1's Succeeds. A record succeeds one
// other and is succeeded by one other, so a consumer sets the link, never changes it.
type OrganisationSuccessionRecordedV1 struct {
	OrganisationID string `json:"organisation_id"`
	Succeeds       string `json:"succeeds"`
}

// EventType implements Payload.
func (OrganisationSuccessionRecordedV1) EventType() string {
	return SubjectOrganisationSuccession + ".v1"
}

// SubjectOrganisationDetailsCorrected is published when ITSS corrects an
// organisation's details (OrganisationDetailsCorrectedV1).
const SubjectOrganisationDetailsCorrected = "tc.signatory.organisation.details_corrected"

// OrganisationDetailsCorrectedV1 carries an organisation's details in full (its
// name, website, sector and country), as ITSS corrected them after the enquiry: a
// slip in the name, an institution renamed, a website moved. Every service that
// keeps the organisation's name (or website) replaces it with these, so that later
// emails, pages and answers use them. The kind is not among them: it set the
// obligation clocks, and never changes. It names no person.
type OrganisationDetailsCorrectedV1 struct {
	OrganisationID string `json:"organisation_id"`
	Name           string `json:"name"`
	Sector         string `json:"sector"`
	Country        string `json:"country"`
	Website        string `json:"website"`
}

// EventType implements Payload.
func (OrganisationDetailsCorrectedV1) EventType() string {
	return SubjectOrganisationDetailsCorrected + ".v1"
}

// OrganisationAnnouncementCorrectedV1 records that ITSS corrected the date of the
// organisation's announcement (a typing slip: 2025-03-02 for 2025-02-03), allowed
// while nothing has been received against its first obligation, whose clock counts
// from that date. It says the dates before and after, the announcement's and the
// first obligation's, so that a consumer can tell the people concerned what moved
// without a read model of its own. The signatory service appends it followed by an
// ObligationScheduledV1 of the same obligation id with the new window and due date:
// a consumer that does not know this event still moves the obligation from that one.
type OrganisationAnnouncementCorrectedV1 struct {
	OrganisationID      string     `json:"organisation_id"`
	OrganisationName    string     `json:"organisation_name"`
	AnnouncedOn         civil.Date `json:"announced_on"`
	PreviousAnnouncedOn civil.Date `json:"previous_announced_on"`
	ObligationID        string     `json:"obligation_id"`
	ObligationKind      string     `json:"obligation_kind"`
	WindowOpens         civil.Date `json:"window_opens"`
	Due                 civil.Date `json:"due"`
	PreviousWindowOpens civil.Date `json:"previous_window_opens"`
	PreviousDue         civil.Date `json:"previous_due"`
}

// EventType implements Payload.
func (OrganisationAnnouncementCorrectedV1) EventType() string {
	return SubjectAnnouncementCorrected + ".v1"
}

// OrganisationMeetingCorrectedV1 records that ITSS corrected the day it met the
// organisation (a typing slip: 2026-03-02 for 2025-03-02). The form's and the
// announcement's days may not precede the meeting's, so a day typed late barred
// recording them as they happened, and with the announcement every deadline of the
// first cycle. It says the day before and after; it names no one.
type OrganisationMeetingCorrectedV1 struct {
	OrganisationID string     `json:"organisation_id"`
	HeldOn         civil.Date `json:"held_on"`
	PreviousHeldOn civil.Date `json:"previous_held_on"`
}

// EventType implements Payload.
func (OrganisationMeetingCorrectedV1) EventType() string {
	return SubjectMeetingCorrected + ".v1"
}

// OrganisationFormCorrectedV1 records that ITSS corrected the day the organisation's
// form was signed (a typing slip: 2026-03-01 for 2025-03-01). The announcement's day
// may not precede it, so a day typed late barred recording the announcement as it
// happened, and with it every deadline of the first cycle. It says the day before and
// after; it names no one (the form's contacts are changed as contacts).
type OrganisationFormCorrectedV1 struct {
	OrganisationID   string     `json:"organisation_id"`
	SignedOn         civil.Date `json:"signed_on"`
	PreviousSignedOn civil.Date `json:"previous_signed_on"`
}

// EventType implements Payload.
func (OrganisationFormCorrectedV1) EventType() string {
	return SubjectFormCorrected + ".v1"
}

// OrganisationContactsChangedV1 carries the organisation's current contacts in full.
type OrganisationContactsChangedV1 struct {
	OrganisationID string `json:"organisation_id"`
	Leader         Person `json:"leader"`
	NominatedLead  Person `json:"nominated_lead"`
	PointOfContact Person `json:"point_of_contact"`
	PlanPage       string `json:"plan_page,omitempty"`
}

// EventType implements Payload.
func (OrganisationContactsChangedV1) EventType() string {
	return SubjectOrganisationContactsChanged + ".v1"
}

// OrganisationWithdrawnV1 records that the organisation left the Commitment (or was
// withdrawn by ITSS). Its open obligations lapse with it.
type OrganisationWithdrawnV1 struct {
	OrganisationID string     `json:"organisation_id"`
	WithdrawnOn    civil.Date `json:"withdrawn_on"`
	Reason         string     `json:"reason"`
	InitiatedBy    string     `json:"initiated_by"` // organisation or itss
}

// EventType implements Payload.
func (OrganisationWithdrawnV1) EventType() string { return SubjectOrganisationWithdrawn + ".v1" }

// Obligation kinds.
const (
	ObligationSelfAssessmentAndActionPlan = "self_assessment_and_action_plan"
	ObligationActionPlan                  = "action_plan"
)

// ObligationScheduledV1 opens an obligation: what is due, when its window opens and
// when it is due. An organisation has at most one open obligation at a time. One
// scheduled again under the same obligation id (after a correction of the
// announcement's date, OrganisationAnnouncementCorrectedV1) moves it: the later
// event's window and due date stand.
type ObligationScheduledV1 struct {
	OrganisationID   string     `json:"organisation_id"`
	OrganisationName string     `json:"organisation_name"`
	ObligationID     string     `json:"obligation_id"`
	Kind             string     `json:"kind"`
	Cycle            int        `json:"cycle"`
	WindowOpens      civil.Date `json:"window_opens"`
	Due              civil.Date `json:"due"`
}

// EventType implements Payload.
func (ObligationScheduledV1) EventType() string { return SubjectObligationScheduled + ".v1" }

// ObligationMetV1 closes an obligation because its submission was received.
type ObligationMetV1 struct {
	OrganisationID string     `json:"organisation_id"`
	ObligationID   string     `json:"obligation_id"`
	SubmissionID   string     `json:"submission_id"`
	ReceivedOn     civil.Date `json:"received_on"`
}

// EventType implements Payload.
func (ObligationMetV1) EventType() string { return SubjectObligationMet + ".v1" }

// SubjectPersonErased is published when ops erase a person at their request.
const SubjectPersonErased = "tc.signatory.person.erased"

// PersonErasedV1 tells every service to forget a person (UK GDPR Art. 17): ops ask
// once, in the signatory service, and each service erases what it holds of them
// (docs/PRIVACY.md). It names the person only by the digest of their address
// (personal.Subject), which each service computes of the addresses it holds: the
// event itself shows no one.
type PersonErasedV1 struct {
	Subject string `json:"subject"`
}

// EventType implements Payload.
func (PersonErasedV1) EventType() string { return SubjectPersonErased + ".v1" }
