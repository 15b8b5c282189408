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

// TestAWithdrawnApplicationSaysWhy: an application withdrawn with a reason (by its
// applicant's tool, or by the fund when the organisation leaves the Commitment)
// shows the reason on the lead's page and the console's, not only "Withdrawn":
// the lead did not withdraw it themselves and would otherwise not know why.
func TestAWithdrawnApplicationSaysWhy(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	mine := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	round := s.openRound(t)
	tool, err := s.fund.Issuer.MintFor(auth.Principal{Subject: "grants-tool", Role: auth.RoleApplicant, Org: mine}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	id := s.draftWith(t, tool, round, "lead-a@example.ac.uk")
	const reason = "Our partner college could no longer take part."
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+id+"/withdrawal", tool, map[string]any{"reason": reason}))

	lead := s.p.signIn("lead-a@example.ac.uk")
	staff := sessionCookie(t, s.p.do("GET", "/auth/callback?good=1", "", nil))
	for _, page := range []struct{ who, cookie, path string }{
		{"the lead", lead, "/organisations/" + mine + "/fund/" + id},
		{"ITSS staff", staff, "/ops/fund/applications/" + id},
	} {
		testenv.Eventually(t, 10*time.Second, func() error {
			r := s.p.do("GET", page.path, page.cookie, nil)
			if r.status != http.StatusOK || !strings.Contains(r.body, "Withdrawn") {
				return fmt.Errorf("%s's page = %d: %s", page.who, r.status, r.body)
			}
			if !strings.Contains(r.body, "Why it was withdrawn") || !strings.Contains(r.body, reason) {
				return fmt.Errorf("%s's page of the withdrawn application does not say why: %s", page.who, r.body)
			}
			return nil
		})
	}
}
