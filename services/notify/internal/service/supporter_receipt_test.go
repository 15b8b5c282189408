package service_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// TestASupportersReceiptSaysItIsPeerReviewedAndNothingMoreIsDue: a supporter's action
// plan goes to peer review like a signatory's (the review service puts it in a round,
// and its lead is emailed the feedback), and it is the supporter's only submission
// (DESIGN.md). Its receipt said only that ITSS would be in touch if anything more was
// needed, and pointed to "what is due next": it says the plan is peer-reviewed, with
// the feedback emailed, and that nothing more is due.
func TestASupportersReceiptSaysItIsPeerReviewedAndNothingMoreIsDue(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.publish("sq", events.OrganisationEnquiryReceivedV1{OrganisationID: "sq", Name: "Uni sq", Kind: "supporter"})
	h.publish("sq", events.OrganisationAnnouncedV1{OrganisationID: "sq", Name: "Uni sq", Kind: "supporter", NominatedLead: lead, Leader: leader})
	h.publish("sq", events.ObligationScheduledV1{OrganisationID: "sq", ObligationID: "sq-c1", Kind: "action_plan", Cycle: 1, WindowOpens: civil.New(2026, 3, 20), Due: civil.New(2026, 9, 20)})
	h.waitFor("sq")
	before := len(h.box.all())
	h.publish("sq", events.ObligationMetV1{OrganisationID: "sq", ObligationID: "sq-c1", SubmissionID: "s-sq", ReceivedOn: civil.New(2026, 4, 14)})
	var got []received
	testenv.Eventually(t, 10*time.Second, func() error {
		if got = mailOf(h, "sq", before); len(got) != 1 {
			return fmt.Errorf("receipts: %v, want 1", subjects(got))
		}
		return nil
	})
	m := got[0]
	checkSays(t, m, "Uni sq's action plan for the Technician Commitment was received on Tuesday 14 April 2026. Thank you.",
		"Peer reviewers from other organisations review it; you will be emailed when their feedback is ready.",
		"Nothing more is due from Uni sq: as a supporter, its action plan is its only submission.")
	if strings.Contains(m.Text, "what is due next") {
		t.Errorf("a supporter's receipt points to what is due next, when nothing is:\n%s", m.Text)
	}
}
