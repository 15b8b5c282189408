package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/testenv"
)

// A reply to an email reaches the address the email gives for writing to ITSS
// (NOTIFY_CONTACT_EMAIL), not the address it is sent from (SMTP_FROM), which may be a
// mailbox nobody reads: a lead told "tell ITSS if something stands in the way" who
// presses Reply writes to ITSS. Before, emails carried no Reply-To, so every reply
// went to SMTP_FROM.
func TestAReplyToAnEmailReachesTheAddressItGivesForITSS(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 9, 11, 8, 0, 0, 0, time.UTC))
	if h.cfg.SMTP.From == h.cfg.Notify.ContactEmail {
		t.Fatalf("the test needs a sender (%s) other than ITSS's contact address", h.cfg.SMTP.From)
	}
	h.onboard("rp", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	var got []received
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, err := h.svcs[0].App.Sweep(context.Background()); err != nil {
			return err
		}
		got = nil
		for _, m := range h.box.all() {
			if len(m.To) == 1 && m.To[0] == "lead@exampleton.ac.uk" {
				got = append(got, m)
			}
		}
		if len(got) == 0 {
			return fmt.Errorf("no reminder yet")
		}
		return nil
	})
	for _, m := range got {
		if m.ReplyTo != h.cfg.Notify.ContactEmail {
			t.Errorf("%q: a reply goes to %q, want ITSS's contact address %q, which its text gives", m.Subject, m.ReplyTo, h.cfg.Notify.ContactEmail)
		}
	}
}
