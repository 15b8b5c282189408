// Package organisation is the signatory service's domain: an organisation's journey
// from enquiry to announcement and withdrawal, its contacts, and the obligation clock
// its announcement starts. It is pure: commands check the rules against the current
// state and return the events that record the change; state is rebuilt by applying
// events.
package organisation

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// AggregateType names organisations in the event store.
const AggregateType = "organisation"

// Kind is whether an organisation signs the Commitment or supports it.
type Kind string

// The kinds of organisation.
const (
	Signatory Kind = "signatory"
	Supporter Kind = "supporter"
)

// Status is where an organisation is in its journey.
type Status string

// The statuses, in order.
const (
	StatusNone         Status = ""
	StatusEnquiry      Status = "enquiry"
	StatusMeetingHeld  Status = "meeting_held"
	StatusFormReceived Status = "form_received"
	StatusAnnounced    Status = "announced"
	StatusWithdrawn    Status = "withdrawn"
)

// Person is someone the organisation names.
type Person struct {
	Name  string
	Title string
	Email string
}

// Enquiry is what an organisation tells ITSS when it first asks to join.
type Enquiry struct {
	// EnquiredOn is the day the enquiry reached ITSS, when known: records are often
	// made after the fact, and institutions that joined before this service have
	// none. The meeting cannot be before it.
	EnquiredOn civil.Date
	Name       string
	Kind       Kind
	Sector     string
	Country    string
	Website    string
	Contact    Person
}

// Details are what an enquiry records of the organisation itself, which ITSS may
// correct later (CorrectDetails): its name, sector, country and website. The kind
// is not among them: it set the obligation clocks.
type Details struct {
	Name    string
	Sector  string
	Country string
	Website string
}

// Contacts are the people an organisation names on its form and may change later.
type Contacts struct {
	Leader         Person
	NominatedLead  Person
	PointOfContact Person
	PlanPage       string
}

// ObligationStatus says whether an obligation is still to be met.
type ObligationStatus string

// Obligation statuses.
const (
	ObligationOpen   ObligationStatus = "open"
	ObligationMet    ObligationStatus = "met"
	ObligationLapsed ObligationStatus = "lapsed" // the organisation withdrew with it open
	// ObligationOverdue is how an open obligation reads after its due date; it is
	// never stored, only worked out for a given day (see Obligation.On).
	ObligationOverdue ObligationStatus = "overdue"
)

// Obligation is one submission the organisation owes.
type Obligation struct {
	ID           string
	Kind         string
	Cycle        int
	WindowOpens  civil.Date
	Due          civil.Date
	Status       ObligationStatus
	MetOn        civil.Date
	SubmissionID string
}

// Standing is where an obligation stands on a given day.
type Standing struct {
	// Status is open, overdue, met or lapsed.
	Status ObligationStatus
	// DaysLeft counts the days from the day to the due date (0 on the due date)
	// while the obligation is open.
	DaysLeft int
	// DaysOverdue counts the days since the due date while it is overdue.
	DaysOverdue int
}

// On says where the obligation stands on today (a London date): an open obligation
// is overdue from the day after its due date.
func (ob Obligation) On(today civil.Date) Standing {
	if ob.Status != ObligationOpen {
		return Standing{Status: ob.Status}
	}
	if today.After(ob.Due) {
		return Standing{Status: ObligationOverdue, DaysOverdue: ob.Due.DaysUntil(today)}
	}
	return Standing{Status: ObligationOpen, DaysLeft: today.DaysUntil(ob.Due)}
}

// Organisation is the aggregate. Its fields change only by applying events.
type Organisation struct {
	id          string
	version     int
	enquiry     Enquiry
	status      Status
	contacts    Contacts
	meetingOn   civil.Date
	signedOn    civil.Date
	announcedOn civil.Date
	withdrawnOn civil.Date
	withdrawal  string
	succeeds    string
	obligations []Obligation
	createdAt   time.Time
	updatedAt   time.Time
}

// Rebuild replays an organisation's history. An empty history gives an organisation
// that does not exist yet (status none).
func Rebuild(id string, history []events.Envelope) (*Organisation, error) {
	o := &Organisation{id: id}
	for _, e := range history {
		if err := o.apply(e); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// ID returns the organisation's id.
func (o *Organisation) ID() string { return o.id }

// Version is the number of events applied.
func (o *Organisation) Version() int { return o.version }

// Exists reports whether the organisation has been recorded.
func (o *Organisation) Exists() bool { return o.status != StatusNone }

// Status returns where the organisation is in its journey.
func (o *Organisation) Status() Status { return o.status }

// Enquiry returns what the organisation said when it first asked to join, its
// details as ITSS last corrected them (see Details).
func (o *Organisation) Enquiry() Enquiry { return o.enquiry }

// Contacts returns the organisation's current contacts.
func (o *Organisation) Contacts() Contacts { return o.contacts }

// Details returns the organisation's details as they stand: the enquiry's, as ITSS
// last corrected them.
func (o *Organisation) Details() Details {
	return Details{Name: o.enquiry.Name, Sector: o.enquiry.Sector, Country: o.enquiry.Country, Website: o.enquiry.Website}
}

// MeetingHeldOn returns the date ITSS met the organisation, if it has.
func (o *Organisation) MeetingHeldOn() civil.Date { return o.meetingOn }

// FormSignedOn returns the date the form was signed, if received.
func (o *Organisation) FormSignedOn() civil.Date { return o.signedOn }

// AnnouncedOn returns the announcement date, if announced.
func (o *Organisation) AnnouncedOn() civil.Date { return o.announcedOn }

// ListedOn reports whether the organisation is in the public directory on today (a
// London date): from the day of its announcement, which may be recorded ahead, until
// it withdraws.
func (o *Organisation) ListedOn(today civil.Date) bool {
	return o.status == StatusAnnounced && !o.announcedOn.After(today)
}

// Succeeds returns the id of the organisation this one succeeds (one that withdrew
// and signed again as this record), or "".
func (o *Organisation) Succeeds() string { return o.succeeds }

// Withdrawal returns the withdrawal date and reason, if withdrawn.
func (o *Organisation) Withdrawal() (civil.Date, string) { return o.withdrawnOn, o.withdrawal }

// Obligations returns the organisation's obligations, oldest first.
func (o *Organisation) Obligations() []Obligation {
	return append([]Obligation(nil), o.obligations...)
}

// OpenObligation returns the obligation still to be met, if any.
func (o *Organisation) OpenObligation() (Obligation, bool) {
	for _, ob := range o.obligations {
		if ob.Status == ObligationOpen {
			return ob, true
		}
	}
	return Obligation{}, false
}

// CreatedAt and UpdatedAt are the times of the first and latest events.
func (o *Organisation) CreatedAt() time.Time { return o.createdAt }

// UpdatedAt is the time of the latest event.
func (o *Organisation) UpdatedAt() time.Time { return o.updatedAt }

// CommitmentBegan is the first day an onboarding step may be dated: the Technician
// Commitment began in 2017, so a step dated before it (a meeting in 1900, an
// announcement in 1901) is a slip of the year, and taken as made would open an
// obligation overdue by decades and email its lead so.
var CommitmentBegan = civil.New(2017, time.January, 1)

// sinceTheCommitmentBegan refuses a step dated before the Commitment began.
func sinceTheCommitmentBegan(field string, on civil.Date) error {
	if !on.IsZero() && on.Before(CommitmentBegan) {
		return apperr.Field(field, "%s is before the Technician Commitment began in 2017: check the year", on.InWords())
	}
	return nil
}

// ReceiveEnquiry records a new organisation. today is the London date, which the
// enquiry's date cannot be after.
func (o *Organisation) ReceiveEnquiry(q Enquiry, today civil.Date) ([]events.Payload, error) {
	if o.Exists() {
		return nil, apperr.New(apperr.Conflict, "organisation %s already exists", o.id)
	}
	q.Name = strings.TrimSpace(q.Name)
	if err := validateEnquiry(q); err != nil {
		return nil, err
	}
	if err := sinceTheCommitmentBegan("enquired_on", q.EnquiredOn); err != nil {
		return nil, err
	}
	if q.EnquiredOn.After(today) {
		return nil, apperr.Field("enquired_on", "%s is in the future (today is %s): record the date the enquiry arrived", q.EnquiredOn.InWords(), today.InWords())
	}
	return []events.Payload{events.OrganisationEnquiryReceivedV1{
		OrganisationID: o.id, EnquiredOn: q.EnquiredOn, Name: q.Name, Kind: string(q.Kind), Sector: q.Sector, Country: q.Country,
		Website: q.Website, EnquiryContact: toEventPerson(q.Contact),
	}}, nil
}

// RecordMeeting records that ITSS met the organisation. It follows the enquiry, and
// has been held: it is not dated after today (a London date).
func (o *Organisation) RecordMeeting(on civil.Date, notes string, today civil.Date) ([]events.Payload, error) {
	if err := o.require("record a meeting with", StatusEnquiry); err != nil {
		return nil, err
	}
	if err := o.checkHeldOn(on, today); err != nil {
		return nil, err
	}
	if err := noControls("notes", notes, true); err != nil {
		return nil, err
	}
	return []events.Payload{events.OrganisationMeetingHeldV1{OrganisationID: o.id, HeldOn: on, Notes: strings.TrimSpace(notes)}}, nil
}

// checkHeldOn holds the day of the meeting to its rules: it follows the enquiry and
// has been held (it is not dated after today, a London date).
func (o *Organisation) checkHeldOn(on, today civil.Date) error {
	if on.IsZero() {
		return apperr.Field("held_on", "is required")
	}
	if err := sinceTheCommitmentBegan("held_on", on); err != nil {
		return err
	}
	if on.After(today) {
		return apperr.Field("held_on", "%s is in the future (today is %s): record the meeting once it has been held", on.InWords(), today.InWords())
	}
	if on.Before(o.enquiry.EnquiredOn) {
		return apperr.Field("held_on", "%s is before the enquiry arrived on %s", on.InWords(), o.enquiry.EnquiredOn.InWords())
	}
	return nil
}

// ReceiveForm records the signed form, which names the leader who signed it, the
// nominated lead and the public point of contact. It follows the meeting, and has been
// signed: it is not dated after today (a London date).
func (o *Organisation) ReceiveForm(signedOn civil.Date, c Contacts, today civil.Date) ([]events.Payload, error) {
	if err := o.require("receive the form of", StatusMeetingHeld); err != nil {
		return nil, err
	}
	if err := o.checkSignedOn(signedOn, today); err != nil {
		return nil, err
	}
	if err := validateContacts(c); err != nil {
		return nil, err
	}
	return []events.Payload{events.OrganisationFormReceivedV1{
		OrganisationID: o.id, SignedOn: signedOn, Leader: toEventPerson(c.Leader),
		NominatedLead: toEventPerson(c.NominatedLead), PointOfContact: toEventPerson(c.PointOfContact), PlanPage: c.PlanPage,
	}}, nil
}

// checkSignedOn holds the day the form was signed to its rules: it follows the
// meeting and has been signed (it is not dated after today, a London date).
func (o *Organisation) checkSignedOn(signedOn, today civil.Date) error {
	if signedOn.IsZero() {
		return apperr.Field("signed_on", "is required")
	}
	if err := sinceTheCommitmentBegan("signed_on", signedOn); err != nil {
		return err
	}
	if signedOn.After(today) {
		return apperr.Field("signed_on", "%s is in the future (today is %s): record the form once it has been signed", signedOn.InWords(), today.InWords())
	}
	if signedOn.Before(o.meetingOn) {
		return apperr.Field("signed_on", "%s is before the meeting on %s", signedOn.InWords(), o.meetingOn.InWords())
	}
	return nil
}

// Announce records the joint public announcement and opens the first obligation
// according to policy. It follows the form. It may be dated ahead, by at most the
// policy's AnnouncementLead months after today (a London date): the organisation is
// listed publicly from that day.
func (o *Organisation) Announce(on civil.Date, policy Policy, today civil.Date) ([]events.Payload, error) {
	return o.AnnounceSucceeding(on, nil, "", policy, today)
}

// AnnounceSucceeding is Announce of an organisation that succeeds predecessor: one
// that withdrew and has signed again as this new record (nil: it succeeds none).
// succeededBy is the organisation already recorded as succeeding predecessor, if
// any. The rules that follow an organisation (the fund's exclusion of the previous
// round's grantees, reviewers' conflicts) then hold the two as one, which they could
// not tell otherwise. The predecessor must be another organisation, withdrawn, and
// succeeded by no other.
func (o *Organisation) AnnounceSucceeding(on civil.Date, predecessor *Organisation, succeededBy string, policy Policy, today civil.Date) ([]events.Payload, error) {
	if err := o.require("announce", StatusFormReceived); err != nil {
		return nil, err
	}
	if err := o.checkAnnouncedOn(on, policy, today); err != nil {
		return nil, err
	}
	succeeds, err := o.checkSuccession(predecessor, succeededBy)
	if err != nil {
		return nil, err
	}
	s := policy.For(o.enquiry.Kind)
	opens, due := s.First(on)
	return []events.Payload{
		events.OrganisationAnnouncedV1{
			OrganisationID: o.id, Name: o.enquiry.Name, Kind: string(o.enquiry.Kind), AnnouncedOn: on,
			Website: o.enquiry.Website, PlanPage: o.contacts.PlanPage,
			PointOfContact: toEventPerson(o.contacts.PointOfContact), NominatedLead: toEventPerson(o.contacts.NominatedLead),
			Leader: toEventPerson(o.contacts.Leader), Succeeds: succeeds,
		},
		o.scheduled(s, 1, opens, due),
	}, nil
}

// checkAnnouncedOn holds an announcement's date to its rules, at the announcement
// and at a correction of it (400 naming announced_on): dated, not before the
// Commitment began nor before the form was signed, and at most the policy's
// AnnouncementLead months after today (a London date).
func (o *Organisation) checkAnnouncedOn(on civil.Date, policy Policy, today civil.Date) error {
	if on.IsZero() {
		return apperr.Field("announced_on", "is required")
	}
	if err := sinceTheCommitmentBegan("announced_on", on); err != nil {
		return err
	}
	if on.Before(o.signedOn) {
		return apperr.Field("announced_on", "%s is before the form was signed on %s", on.InWords(), o.signedOn.InWords())
	}
	if latest := today.AddMonths(policy.AnnouncementLead); on.After(latest) {
		return apperr.Field("announced_on", "%s is more than %d months ahead (the latest is %s): check the year", on.InWords(), policy.AnnouncementLead, latest.InWords())
	}
	return nil
}

// checkSuccession refuses a predecessor this organisation cannot succeed, naming
// the field succeeds, and returns the predecessor's id ("" for none).
func (o *Organisation) checkSuccession(predecessor *Organisation, succeededBy string) (string, error) {
	if predecessor == nil {
		return "", nil
	}
	switch {
	case predecessor.id == o.id:
		return "", apperr.Field("succeeds", "is this organisation itself: name the record of the organisation that withdrew")
	case !predecessor.Exists():
		return "", apperr.Field("succeeds", "names no organisation (%s): name the record of the organisation that withdrew", predecessor.id)
	case predecessor.status != StatusWithdrawn:
		return "", apperr.Field("succeeds", "names %s, which has not withdrawn (its status is %s): only an organisation that withdrew is succeeded", predecessor.enquiry.Name, predecessor.status)
	case succeededBy != "" && succeededBy != o.id:
		return "", apperr.Field("succeeds", "names %s, which is already succeeded by organisation %s: an organisation is succeeded once", predecessor.enquiry.Name, succeededBy)
	}
	return predecessor.id, nil
}

// RecordSuccession records, after the announcement, that this organisation succeeds
// predecessor: one that withdrew and signed again as this record, which its
// announcement did not name. succeededBy is the organisation already recorded as
// succeeding predecessor, if any. The predecessor is held to the rules of
// AnnounceSucceeding (another organisation, withdrawn, succeeded by no other: 400
// naming succeeds). Only an announced organisation that has not withdrawn takes it:
// one not yet announced names it in its announcement, and a withdrawn one is out of
// the Commitment (409). A record succeeds one other: the same again records nothing,
// and another is refused (409), since the link is what the other services' rules
// were applied by, and changing it would change decisions already made under it.
func (o *Organisation) RecordSuccession(predecessor *Organisation, succeededBy string) ([]events.Payload, error) {
	switch o.status {
	case StatusNone:
		return nil, apperr.New(apperr.NotFound, "organisation %s not found", o.id)
	case StatusEnquiry, StatusMeetingHeld, StatusFormReceived:
		return nil, apperr.New(apperr.Conflict, "cannot record the record organisation %s succeeds while its status is %s: it has not been announced; name it as succeeds in its announcement", o.id, o.status)
	case StatusWithdrawn:
		return nil, apperr.New(apperr.Conflict, "cannot record the record organisation %s succeeds while its status is %s: it has withdrawn, and a record that signs again succeeds it", o.id, o.status)
	}
	if predecessor != nil && o.succeeds == predecessor.id {
		return nil, nil // recorded already: no event, nothing for the other services to do again
	}
	if o.succeeds != "" {
		return nil, apperr.New(apperr.Conflict, "organisation %s already succeeds organisation %s: a record succeeds one other, and the rules that follow the organisation were applied by that link", o.id, o.succeeds)
	}
	if predecessor == nil {
		return nil, apperr.Field("succeeds", "is required: the identifier of the record of the organisation that withdrew")
	}
	succeeds, err := o.checkSuccession(predecessor, succeededBy)
	if err != nil {
		return nil, err
	}
	return []events.Payload{events.OrganisationSuccessionRecordedV1{OrganisationID: o.id, Succeeds: succeeds}}, nil
}

// CorrectDetails replaces the organisation's details (name, sector, country,
// website) with d, held to the enquiry's rules (400 naming the field). ITSS corrects
// them at any step, a withdrawn organisation's too: a slip in the name stays in every
// list, history and email otherwise, and institutions are renamed and move their
// websites. The same details again record nothing.
func (o *Organisation) CorrectDetails(d Details) ([]events.Payload, error) {
	if !o.Exists() {
		return nil, apperr.New(apperr.NotFound, "organisation %s not found", o.id)
	}
	d.Name = strings.TrimSpace(d.Name)
	if err := validateDetails(d); err != nil {
		return nil, err
	}
	if d == o.Details() {
		return nil, nil // nothing changed: no event
	}
	return []events.Payload{events.OrganisationDetailsCorrectedV1{
		OrganisationID: o.id, Name: d.Name, Sector: d.Sector, Country: d.Country, Website: d.Website,
	}}, nil
}

// ChangeContacts replaces the organisation's contacts. It is allowed once the form is
// in and until the organisation withdraws.
func (o *Organisation) ChangeContacts(c Contacts) ([]events.Payload, error) {
	if err := o.require("change the contacts of", StatusFormReceived, StatusAnnounced); err != nil {
		return nil, err
	}
	if err := validateContacts(c); err != nil {
		return nil, err
	}
	if c == o.contacts {
		return nil, nil // nothing changed: no event, no email
	}
	return []events.Payload{events.OrganisationContactsChangedV1{
		OrganisationID: o.id, Leader: toEventPerson(c.Leader), NominatedLead: toEventPerson(c.NominatedLead),
		PointOfContact: toEventPerson(c.PointOfContact), PlanPage: c.PlanPage,
	}}, nil
}

// NeedsNominatedLead reports whether the organisation has signed its form and is not
// withdrawn, but names no nominated lead: the one it named was erased at their
// request, and ITSS must ask it for another (ChangeContacts).
func (o *Organisation) NeedsNominatedLead() bool {
	return (o.status == StatusFormReceived || o.status == StatusAnnounced) && o.contacts.NominatedLead.Email == ""
}

// ErasePerson takes the person with this email address out of the organisation's
// contacts, at their request: the event names the roles they held as erased, and the
// rest of the contacts as they are. It returns no event when the organisation's
// contacts do not name them, or when it has none to change (before its form, or
// withdrawn): what it held of them then is in its earlier events only, which erasure
// makes unreadable by other means (libs/personal). The contacts need not be complete
// afterwards: an organisation without its nominated lead says so (NeedsNominatedLead).
func (o *Organisation) ErasePerson(email string) ([]events.Payload, error) {
	target := strings.ToLower(strings.TrimSpace(email))
	if target == "" {
		return nil, apperr.Field("email", "is required")
	}
	return o.ErasePersonMatching(func(address string) bool { return strings.ToLower(address) == target })
}

// ErasePersonMatching is ErasePerson of the person whose address named says is
// theirs (the erasure finds a person by the digest of their address).
func (o *Organisation) ErasePersonMatching(named func(email string) bool) ([]events.Payload, error) {
	if o.status != StatusFormReceived && o.status != StatusAnnounced {
		return nil, nil
	}
	erased := false
	person := func(p Person) events.Person {
		if p.Email != "" && named(p.Email) {
			erased = true
			return events.Person{Erased: true}
		}
		return toEventPerson(p)
	}
	e := events.OrganisationContactsChangedV1{OrganisationID: o.id, Leader: person(o.contacts.Leader),
		NominatedLead: person(o.contacts.NominatedLead), PointOfContact: person(o.contacts.PointOfContact), PlanPage: o.contacts.PlanPage}
	if !erased {
		return nil, nil
	}
	return []events.Payload{e}, nil
}

// Withdraw records that the organisation left (or was withdrawn). Its open
// obligation lapses. Any organisation not yet withdrawn may be. The withdrawal has
// happened (it is not dated after today, a London date) and cannot be dated before
// any step of the onboarding that has taken place, nor before a submission it made:
// an organisation does not leave before it joined, nor before it last took part. An announcement still ahead is called off by the withdrawal.
func (o *Organisation) Withdraw(on civil.Date, reason, initiatedBy string, today civil.Date) ([]events.Payload, error) {
	if err := o.require("withdraw", StatusEnquiry, StatusMeetingHeld, StatusFormReceived, StatusAnnounced); err != nil {
		return nil, err
	}
	if on.IsZero() {
		return nil, apperr.Field("withdrawn_on", "is required")
	}
	if err := sinceTheCommitmentBegan("withdrawn_on", on); err != nil {
		return nil, err
	}
	if on.After(today) {
		return nil, apperr.Field("withdrawn_on", "%s is in the future (today is %s): record the withdrawal on or after the day it takes effect", on.InWords(), today.InWords())
	}
	type milestone struct {
		on   civil.Date
		what string
	}
	steps := []milestone{{o.enquiry.EnquiredOn, "the enquiry arrived"}, {o.meetingOn, "the meeting with ITSS"}, {o.signedOn, "the form was signed"}}
	if !o.announcedOn.After(today) {
		steps = append(steps, milestone{o.announcedOn, "the announcement"})
	}
	// The latest step it precedes is the one to name (steps not taken are zero dates).
	for i := len(steps) - 1; i >= 0; i-- {
		if on.Before(steps[i].on) {
			return nil, apperr.Field("withdrawn_on", "%s is before %s on %s: a withdrawal cannot precede a step of the onboarding that has taken place", on.InWords(), steps[i].what, steps[i].on.InWords())
		}
	}
	// Nor a submission it made: it met an obligation while in the Commitment, and
	// was reminded of it until then.
	for _, ob := range o.obligations {
		if ob.Status == ObligationMet && on.Before(ob.MetOn) {
			return nil, apperr.Field("withdrawn_on", "%s is before its submission was received on %s: a withdrawal cannot precede a submission the organisation made", on.InWords(), ob.MetOn.InWords())
		}
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, apperr.Field("reason", "is required")
	}
	if err := noControls("reason", reason, false); err != nil {
		return nil, err
	}
	if initiatedBy != "organisation" && initiatedBy != "itss" {
		return nil, apperr.Field("initiated_by", "must be organisation or itss")
	}
	return []events.Payload{events.OrganisationWithdrawnV1{OrganisationID: o.id, WithdrawnOn: on, Reason: reason, InitiatedBy: initiatedBy}}, nil
}

// RecordSubmission closes the open obligation with a received submission and opens
// the next, due RepeatEvery months after receipt (receivedOn is the London date of
// receipt), for a kind whose obligation repeats (a signatory's; a supporter's does
// not). A submission for an obligation that is not open (already met, or another
// organisation's) changes nothing, so that a repeated event has no second effect; so
// does one for a withdrawn organisation. A submission received before the
// obligation's window opens does not meet it: it is refused (Conflict), since meeting
// it would start the next three-year clock years early.
func (o *Organisation) RecordSubmission(obligationID, submissionID string, receivedOn civil.Date, policy Policy) ([]events.Payload, error) {
	if o.status != StatusAnnounced {
		return nil, nil
	}
	open, ok := o.OpenObligation()
	if !ok || (obligationID != "" && obligationID != open.ID) {
		return nil, nil
	}
	if receivedOn.Before(open.WindowOpens) {
		return nil, apperr.New(apperr.Conflict, "submission %s was received on %s, before the window of obligation %s opens on %s: it does not meet it",
			submissionID, receivedOn.InWords(), open.ID, open.WindowOpens.InWords())
	}
	met := events.ObligationMetV1{OrganisationID: o.id, ObligationID: open.ID, SubmissionID: submissionID, ReceivedOn: receivedOn}
	s := policy.For(o.enquiry.Kind)
	if s.RepeatEvery == 0 {
		return []events.Payload{met}, nil // a supporter's one action plan: nothing follows
	}
	opens, due := s.Next(receivedOn)
	return []events.Payload{met, o.scheduled(s, open.Cycle+1, opens, due)}, nil
}

func (o *Organisation) scheduled(s Schedule, cycle int, opens, due civil.Date) events.ObligationScheduledV1 {
	return events.ObligationScheduledV1{
		OrganisationID: o.id, OrganisationName: o.enquiry.Name, ObligationID: fmt.Sprintf("%s-c%d", o.id, cycle),
		Kind: s.Obligation, Cycle: cycle, WindowOpens: opens, Due: due,
	}
}

// require answers Conflict unless the organisation is in one of the given statuses,
// saying what stands in the way.
func (o *Organisation) require(action string, allowed ...Status) error {
	for _, s := range allowed {
		if o.status == s {
			return nil
		}
	}
	if o.status == StatusNone {
		return apperr.New(apperr.NotFound, "organisation %s not found", o.id)
	}
	next := map[Status]string{
		StatusEnquiry:      "the meeting with ITSS has not been recorded",
		StatusMeetingHeld:  "its signed form has not been received",
		StatusFormReceived: "it has not been announced",
		StatusAnnounced:    "it has already been announced",
		StatusWithdrawn:    "it has withdrawn",
	}[o.status]
	if o.status == StatusFormReceived && action == "receive the form of" {
		next = "its form has already been received"
	}
	if o.status == StatusMeetingHeld && action == "record a meeting with" {
		next = "the meeting has already been recorded"
	}
	return apperr.New(apperr.Conflict, "cannot %s an organisation whose status is %s: %s", action, o.status, next)
}

// apply changes state by one event.
func (o *Organisation) apply(e events.Envelope) error {
	switch e.Type {
	case events.OrganisationEnquiryReceivedV1{}.EventType():
		p, err := decode[events.OrganisationEnquiryReceivedV1](e)
		if err != nil {
			return err
		}
		o.enquiry = Enquiry{EnquiredOn: p.EnquiredOn, Name: p.Name, Kind: Kind(p.Kind), Sector: p.Sector, Country: p.Country, Website: p.Website, Contact: fromEventPerson(p.EnquiryContact)}
		o.status = StatusEnquiry
		o.createdAt = e.Time
	case events.OrganisationMeetingHeldV1{}.EventType():
		p, err := decode[events.OrganisationMeetingHeldV1](e)
		if err != nil {
			return err
		}
		o.meetingOn = p.HeldOn
		o.status = StatusMeetingHeld
	case events.OrganisationFormReceivedV1{}.EventType():
		p, err := decode[events.OrganisationFormReceivedV1](e)
		if err != nil {
			return err
		}
		o.signedOn = p.SignedOn
		o.contacts = Contacts{Leader: fromEventPerson(p.Leader), NominatedLead: fromEventPerson(p.NominatedLead), PointOfContact: fromEventPerson(p.PointOfContact), PlanPage: p.PlanPage}
		o.status = StatusFormReceived
	case events.OrganisationAnnouncedV1{}.EventType():
		p, err := decode[events.OrganisationAnnouncedV1](e)
		if err != nil {
			return err
		}
		o.announcedOn, o.succeeds = p.AnnouncedOn, p.Succeeds
		o.status = StatusAnnounced
	case events.OrganisationSuccessionRecordedV1{}.EventType():
		p, err := decode[events.OrganisationSuccessionRecordedV1](e)
		if err != nil {
			return err
		}
		o.succeeds = p.Succeeds
	case events.OrganisationDetailsCorrectedV1{}.EventType():
		p, err := decode[events.OrganisationDetailsCorrectedV1](e)
		if err != nil {
			return err
		}
		o.enquiry.Name, o.enquiry.Sector, o.enquiry.Country, o.enquiry.Website = p.Name, p.Sector, p.Country, p.Website
	case events.OrganisationAnnouncementCorrectedV1{}.EventType():
		p, err := decode[events.OrganisationAnnouncementCorrectedV1](e)
		if err != nil {
			return err
		}
		o.announcedOn = p.AnnouncedOn
	case events.OrganisationMeetingCorrectedV1{}.EventType():
		p, err := decode[events.OrganisationMeetingCorrectedV1](e)
		if err != nil {
			return err
		}
		o.meetingOn = p.HeldOn
	case events.OrganisationFormCorrectedV1{}.EventType():
		p, err := decode[events.OrganisationFormCorrectedV1](e)
		if err != nil {
			return err
		}
		o.signedOn = p.SignedOn
	case events.OrganisationContactsChangedV1{}.EventType():
		p, err := decode[events.OrganisationContactsChangedV1](e)
		if err != nil {
			return err
		}
		o.contacts = Contacts{Leader: fromEventPerson(p.Leader), NominatedLead: fromEventPerson(p.NominatedLead), PointOfContact: fromEventPerson(p.PointOfContact), PlanPage: p.PlanPage}
	case events.OrganisationWithdrawnV1{}.EventType():
		p, err := decode[events.OrganisationWithdrawnV1](e)
		if err != nil {
			return err
		}
		o.withdrawnOn, o.withdrawal = p.WithdrawnOn, p.Reason
		o.status = StatusWithdrawn
		for i := range o.obligations {
			if o.obligations[i].Status == ObligationOpen {
				o.obligations[i].Status = ObligationLapsed
			}
		}
	case events.ObligationScheduledV1{}.EventType():
		p, err := decode[events.ObligationScheduledV1](e)
		if err != nil {
			return err
		}
		o.schedule(Obligation{ID: p.ObligationID, Kind: p.Kind, Cycle: p.Cycle, WindowOpens: p.WindowOpens, Due: p.Due, Status: ObligationOpen})
	case events.ObligationMetV1{}.EventType():
		p, err := decode[events.ObligationMetV1](e)
		if err != nil {
			return err
		}
		for i := range o.obligations {
			if o.obligations[i].ID == p.ObligationID {
				o.obligations[i].Status, o.obligations[i].MetOn, o.obligations[i].SubmissionID = ObligationMet, p.ReceivedOn, p.SubmissionID
			}
		}
	default:
		return fmt.Errorf("organisation %s: unknown event type %s", o.id, e.Type)
	}
	o.version = e.Version
	o.updatedAt = e.Time
	return nil
}

func decode[T events.Payload](e events.Envelope) (T, error) {
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return v, fmt.Errorf("decode %s %s: %w", e.Type, e.ID, err)
	}
	return v, nil
}

func validateEnquiry(q Enquiry) error {
	if err := validateDetails(Details{Name: q.Name, Sector: q.Sector, Country: q.Country, Website: q.Website}); err != nil {
		return err
	}
	if q.Kind != Signatory && q.Kind != Supporter {
		return apperr.Field("kind", "must be signatory or supporter")
	}
	return validatePerson("enquiry_contact", q.Contact, true)
}

// validateDetails holds an organisation's details to the enquiry's rules, at the
// enquiry and at each correction.
func validateDetails(d Details) error {
	if err := noControls("name", d.Name, false); err != nil {
		return err
	}
	switch {
	case d.Name == "":
		return apperr.Field("name", "is required")
	case d.Sector == "":
		return apperr.Field("sector", "is required")
	case checkCountry(d.Country) != "":
		return apperr.Field("country", "%s", checkCountry(d.Country))
	}
	return validateURL("website", d.Website, true)
}

func validateContacts(c Contacts) error {
	if err := validatePerson("leader", c.Leader, true); err != nil {
		return err
	}
	if err := validatePerson("nominated_lead", c.NominatedLead, true); err != nil {
		return err
	}
	if err := validatePerson("point_of_contact", c.PointOfContact, false); err != nil {
		return err
	}
	return validateURL("plan_page", c.PlanPage, false)
}

func validatePerson(field string, p Person, emailRequired bool) error {
	if strings.TrimSpace(p.Name) == "" {
		return apperr.Field(field+".name", "is required")
	}
	if err := noControls(field+".name", p.Name, false); err != nil {
		return err
	}
	if err := noControls(field+".title", p.Title, false); err != nil {
		return err
	}
	if p.Email == "" {
		if emailRequired {
			return apperr.Field(field+".email", "is required")
		}
		return nil
	}
	if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email {
		return apperr.Field(field+".email", "must be a plain email address such as name@example.ac.uk")
	}
	return nil
}

// noControls refuses control characters in what people write: names and titles go
// into mail headers and other people's pages, where a line break starts a new header.
// The HTTP contract refuses them first (formats line and text); this keeps the rule
// true for any other way in. Paragraphs (multiline) may hold line breaks and tabs.
func noControls(field, s string, multiline bool) error {
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return apperr.Field(field, "must not contain line breaks or control characters")
		}
	}
	return nil
}

func validateURL(field, raw string, required bool) error {
	if raw == "" {
		if required {
			return apperr.Field(field, "is required")
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return apperr.Field(field, "must be an http(s) address")
	}
	if hidden(raw) {
		return apperr.Field(field, "must not hold control, direction-changing or zero-width characters: the public directory shows it")
	}
	return nil
}

// hidden says s holds a character that is not shown as itself: a control, or a
// format character (direction overrides, zero-width joiners and spaces).
func hidden(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) })
}

func toEventPerson(p Person) events.Person {
	return events.Person{Name: p.Name, Title: p.Title, Email: p.Email}
}

// fromEventPerson reads a person from an event; an erased one is no one.
func fromEventPerson(p events.Person) Person {
	if p.Erased {
		return Person{}
	}
	return Person{Name: p.Name, Title: p.Title, Email: p.Email}
}
