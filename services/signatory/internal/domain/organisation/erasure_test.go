package organisation_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

// Erasing a person takes them out of every role they hold (whatever the case of the
// address) and leaves the others; an organisation without its lead says it needs one,
// and stops saying so once a new lead is named; a person it does not name, or an
// organisation without contacts yet, records nothing.
func TestErasePersonLeavesTheRolesEmptyAndSaysALeadIsNeeded(t *testing.T) {
	t.Parallel()
	form := func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.ReceiveForm(date("2025-03-01"), contacts, today)
	}
	meeting := func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.RecordMeeting(date("2025-02-10"), "", today)
	}
	erase := func(email string) func(*organisation.Organisation) ([]events.Payload, error) {
		return func(o *organisation.Organisation) ([]events.Payload, error) { return o.ErasePerson(email) }
	}

	enquiry, _ := build(t, organisation.Signatory)
	if got, err := enquiry.ErasePerson("s.patel@example.ac.uk"); err != nil || got != nil {
		t.Errorf("before the form: %v %v, want nothing to record", got, err)
	}
	o, _ := build(t, organisation.Signatory, meeting, form)
	if o.NeedsNominatedLead() {
		t.Fatal("with its lead named the organisation needs one")
	}
	if got, err := o.ErasePerson("someone@else.ac.uk"); err != nil || got != nil {
		t.Errorf("a person it does not name: %v %v", got, err)
	}
	o, _ = build(t, organisation.Signatory, meeting, form, erase("S.Patel@Example.ac.uk"))
	want := organisation.Contacts{Leader: contacts.Leader, PointOfContact: contacts.PointOfContact, PlanPage: contacts.PlanPage}
	if diff := cmp.Diff(want, o.Contacts()); diff != "" {
		t.Errorf("contacts after erasing the lead (-want +got):\n%s", diff)
	}
	if !o.NeedsNominatedLead() {
		t.Error("without its lead the organisation does not say it needs one")
	}
	o, _ = build(t, organisation.Signatory, meeting, form, erase("s.patel@example.ac.uk"), func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.ChangeContacts(contacts)
	})
	if o.NeedsNominatedLead() {
		t.Error("with a new lead named the organisation still needs one")
	}
}
