package pages

import (
	"testing"

	notifyapi "github.com/itss/techcommit/services/notify/api"
)

// The console's email log says what each email is in words: notify names its kinds
// with hyphens (fund-declined, signin-link), which the console showed as
// "Fund-declined" and "Signin-link".
func TestEveryDeliveryKindReadsAsWords(t *testing.T) {
	want := map[notifyapi.DeliveryKind]string{
		notifyapi.Reminder:            "Deadline reminder",
		notifyapi.ReviewAssigned:      "Review assigned",
		notifyapi.ReviewDueSoon:       "Review due soon",
		notifyapi.ReviewOverdue:       "Review overdue",
		notifyapi.ReviewUnassigned:    "Review unassigned",
		notifyapi.ReviewFeedback:      "Feedback released",
		notifyapi.ReviewReturned:      "Review returned for revision",
		notifyapi.ReviewNotNeeded:     "Review no longer needed",
		notifyapi.ReviewDeclined:      "Review declined",
		notifyapi.SigninLink:          "Sign-in link",
		notifyapi.FundReceived:        "Fund application received",
		notifyapi.FundAwarded:         "Fund application awarded",
		notifyapi.FundDeclined:        "Fund application declined",
		notifyapi.FundReportDue:       "Fund report due",
		notifyapi.FundReportReceived:  "Fund report received",
		notifyapi.FundWithdrawn:       "Fund application withdrawn",
		notifyapi.ObligationReceived:  "Submission received",
		notifyapi.ObligationWithdrawn: "Withdrawal recorded",
		notifyapi.LeadNamed:           "New nominated lead told",
		notifyapi.LeadReplaced:        "Previous nominated lead told",
		notifyapi.LeadChanged:         "Head told of a new nominated lead",
		notifyapi.HeadChanged:         "Change of head told",
	}
	for k, label := range want {
		if !k.Valid() {
			t.Fatalf("%q is not one of notify's kinds", k)
		}
		if got := opsDeliveryRowOf(notifyapi.Delivery{Kind: k}).Kind; got != label {
			t.Errorf("%s reads %q, want %q", k, got, label)
		}
	}
	// A kind notify adds later, before the console knows it, still reads as words.
	if got := opsDeliveryRowOf(notifyapi.Delivery{Kind: "fund-report-overdue"}).Kind; got != "Fund report overdue" {
		t.Errorf("an unknown kind reads %q", got)
	}
}
