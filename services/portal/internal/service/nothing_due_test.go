package service

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/testenv"
)

// TestTheEditorSaysWhenNothingMoreIsDue: the submission page with no submission open
// told every lead "When the window for the next one opens, you can write it here".
// A supporter whose action plan is in owes nothing more (DESIGN.md), and an
// organisation that withdrew owes nothing at all and will have no window: each is
// told so.
func TestTheEditorSaysWhenNothingMoreIsDue(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the review service")
	}
	s := startStack(t, true)
	supporter := onboardAs(t, s.p, s.sig, "supporter", "Society of Technicians", "lead-p@example.org", time.Now().AddDate(0, -7, 0))
	gone := onboardAs(t, s.p, s.sig, "signatory", "Withdrawn University", "lead-w@example.ac.uk", time.Now().AddDate(0, -13, 0))
	submitted := func(org string, selfAssessment []any) {
		t.Helper()
		tok, err := s.env.Issuer.MintFor(auth.Principal{Subject: "lead-" + org, Role: auth.RoleLead, Org: org}, time.Hour, config.DevAudience("review"))
		if err != nil {
			t.Fatal(err)
		}
		body := map[string]any{"self_assessment": selfAssessment,
			"action_plan": []any{map[string]any{"theme": "recognition", "action": "An annual award", "owner": "HR", "success_measure": "Given yearly",
				"target_date": time.Now().AddDate(1, 0, 0).Format(time.DateOnly)}},
			"technician_voice": map[string]any{"how_consulted": "A survey", "participants": 20}, "webpage": "https://www.example.org/tc"}
		var id string
		testenv.Eventually(t, 15*time.Second, func() error { // the review service learns of the obligation from its event
			r := s.review.Do("POST", "/v1/submissions", tok, body)
			if r.Status != http.StatusCreated {
				return fmt.Errorf("draft = %d: %s", r.Status, r.Body)
			}
			id = r.JSON(t)["id"].(string)
			return nil
		})
		s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/submissions/"+id+"/submission", tok, nil))
	}
	submitted(supporter, []any{})
	var themes []any
	for _, th := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		themes = append(themes, map[string]any{"theme": th, "narrative": "Where we stand", "rating": 2})
	}
	submitted(gone, themes)
	ops, err := s.sig.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("signatory"))
	if err != nil {
		t.Fatal(err)
	}
	// The withdrawal after the signatory service has met the obligation: its next is then lapsed.
	testenv.Eventually(t, 15*time.Second, func() error {
		obs := s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations/"+gone+"/obligations", ops, nil)).JSON(t)["items"].([]any)
		if len(obs) != 2 {
			return fmt.Errorf("the withdrawing organisation has %d obligations, want its first met and the next open", len(obs))
		}
		return nil
	})
	s.sig.Must(http.StatusOK, s.sig.Do("POST", "/v1/organisations/"+gone+"/withdrawal", ops, map[string]any{
		"withdrawn_on": time.Now().Format(time.DateOnly), "reason": "Merged with another university", "initiated_by": "organisation"}))

	for _, tc := range []struct {
		org, lead, says string
	}{
		{supporter, "lead-p@example.org", "Nothing more is due from Society of Technicians"},
		{gone, "lead-w@example.ac.uk", "Withdrawn University withdrew from the Technician Commitment"},
	} {
		cookie := s.p.signIn(tc.lead)
		testenv.Eventually(t, 15*time.Second, func() error {
			r := s.p.do("GET", "/obligations/"+tc.org+"/submission", cookie, nil)
			if r.status != http.StatusOK {
				return fmt.Errorf("%s's submission page = %d: %s", tc.lead, r.status, r.body)
			}
			page := text(parse(t, r.body))
			if !strings.Contains(page, "Earlier submissions") {
				return fmt.Errorf("%s's submission page lists no earlier submission yet: %q", tc.lead, page)
			}
			if strings.Contains(page, "When the window for the next one opens") || !strings.Contains(page, tc.says) {
				return fmt.Errorf("%s's submission page does not say %q, or promises a next window: %q", tc.lead, tc.says, page)
			}
			return nil
		})
	}

	// The withdrawn organisation's submission is no longer reviewed (its reviewers are
	// taken off it): its row and its page as sent said "you will be emailed when the
	// feedback on it is released", which nothing would do.
	cookie := s.p.signIn("lead-w@example.ac.uk")
	page := text(parse(t, s.p.do("GET", "/obligations/"+gone+"/submission", cookie, nil).body))
	if !strings.Contains(page, "No longer peer-reviewed: the organisation withdrew") {
		t.Errorf("the withdrawn organisation's earlier submission is not said to be no longer reviewed: %q", page)
	}
	subs := s.review.Must(http.StatusOK, s.review.Do("GET", "/v1/submissions", opsToken(t, s.review, "review"), nil)).JSON(t)["items"].([]any)
	var sent string
	for _, it := range subs {
		if m := it.(map[string]any); m["organisation_id"] == gone {
			sent = m["id"].(string)
		}
	}
	r := s.p.do("GET", "/obligations/"+gone+"/submissions/"+sent, cookie, nil)
	page = text(parse(t, r.body))
	if r.status != http.StatusOK || strings.Contains(page, "You will be emailed when the feedback") ||
		!strings.Contains(page, "Withdrawn University withdrew from the Technician Commitment on") || !strings.Contains(page, "no longer peer-reviewed") {
		t.Errorf("the withdrawn organisation's submission as sent = %d, does not say it is no longer reviewed: %q", r.status, page)
	}

	// Its contacts page offered a form whose every save the signatory service
	// refuses (the organisation withdrew): the contacts are shown as they were, with
	// whom to ask about a wrong one.
	r = s.p.do("GET", "/obligations/"+gone+"/contacts", cookie, nil)
	page = text(parse(t, r.body))
	if r.status != http.StatusOK || strings.Contains(r.body, `action="/obligations/`+gone+`/contacts"`) || strings.Contains(page, "Save contacts") ||
		!strings.Contains(page, "can no longer be changed") || !strings.Contains(page, "lead-w@example.ac.uk") {
		t.Errorf("the withdrawn organisation's contacts page = %d, offers a form or does not show the contacts: %q", r.status, page)
	}

	// The three pages in Chromium, each checked by axe.
	b := newBrowser(t)
	b.SetCookie(s.p.url, cookie)
	for path, h1 := range map[string]string{"/submission": "Your submission", "/submissions/" + sent: "Your submission as sent", "/contacts": "Your contacts"} {
		b.Open(s.p.url + "/obligations/" + gone + path)
		heading(t, b, h1)
	}
}
