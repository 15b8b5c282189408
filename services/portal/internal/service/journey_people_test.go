package service

import (
	"strings"
	"testing"

	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// An ops person, by keyboard alone, goes from the console's navigation to a
// person's data, asks to erase a lead, meets the confirmation's error when the
// address typed again differs (read with the field), types it right, and reads
// which organisation now needs a new nominated lead. axe-core checks every page.
func TestJourneyOpsPeople(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	onboard(t, s.p, s.sig, "University of Peopleton", "lead-p@example.ac.uk")
	b := newBrowser(t)

	opsBrowserSignIn(t, b, s)
	tabTo(t, b, "link", "People")
	b.Enter()
	heading(t, b, "A person's data")
	if got := pagePath(t, b); got != "/ops/people" {
		t.Fatalf("the People link leads to %s", got)
	}
	screenshot(b, "ops-people")
	opsTypeInto(t, b, "textbox", "Email address", "lead-p@example.ac.uk")
	tabTo(t, b, "button", "Erase this person")
	b.Enter()

	heading(t, b, "Erase this person")
	screenshot(b, "ops-people-confirm")
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "lead-p@example.ac.uk") || !strings.Contains(got, "cannot be undone") {
		t.Errorf("the confirmation reads %q", got)
	}
	opsTypeInto(t, b, "textbox", "Type the email address again", "lead-q@example.ac.uk")
	tabTo(t, b, "button", "Erase this person")
	b.Enter()
	heading(t, b, "Erase this person")
	errorSummaryHasFocus(t, b, "field-confirm", "Type the email address again")
	describedByError(t, b, "field-confirm")
	b.Type("lead-p@example.ac.uk")
	tabTo(t, b, "button", "Erase this person")
	b.Enter()

	heading(t, b, "Person erased")
	screenshot(b, "ops-people-erased")
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "University of Peopleton") || !strings.Contains(got, "Needs a new nominated lead") {
		t.Errorf("the result reads %q", got)
	}
	if strings.Contains(b.CurrentURL(), "example.ac.uk") {
		t.Errorf("the address is in the URL %s", b.CurrentURL())
	}
}
