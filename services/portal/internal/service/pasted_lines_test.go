package service

import (
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// An action pasted from a plan written in Word keeps its lines: a lead's bulleted
// steps were run together into one line in the editor's table of the plan, as the
// table showed the text with its line breaks collapsed, though the reviewer's page
// showed them.
func TestAnActionsLinesShowInThePlan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	org := onboardOn(t, s.p, s.sig, "University of Pasted Lines", "lead@pasted.example.ac.uk", time.Now().AddDate(0, -13, 0))
	lead := s.p.signIn("lead@pasted.example.ac.uk")
	e := startDraft(t, s, org, lead)
	e.setPlan(t, "Survey technicians:\n•\tin every faculty\n•\ttwice a year")

	b := newBrowser(t)
	b.SetCookie(s.p.url, lead)
	b.Open(s.p.url + e.editor() + "?draft=" + e.draft)
	if got := b.Text(browsertest.CSS("#action-plan ~ div td.stack-first")); !strings.Contains(got, "Survey technicians:\n•") || !strings.Contains(got, "faculty\n•") {
		t.Errorf("the editor's plan shows the action as %q, its lines run together", got)
	}
}
