package reliability

import (
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
)

// A receipt notify gave up because its application was decided first is not a lost
// email when the award reached the same person; any other missing receipt still is.
// The official CI of 33c71ea failed on such a receipt, given up as the rules say.
func TestAReceiptOvertakenByItsAwardIsNotLost(t *testing.T) {
	at := time.Date(2026, 12, 7, 0, 27, 0, 0, time.UTC)
	awarded := &unit{n: 21, title: "Skills exchange 21", submittedAt: at, awarded: true,
		applicant: auth.Principal{Email: "applicant@org21.example.ac.uk"}, lead: auth.Principal{Email: "lead@org21.example.ac.uk"}}
	notAwarded := &unit{n: 22, title: "Skills exchange 22", submittedAt: at,
		applicant: auth.Principal{Email: "applicant@org22.example.ac.uk"}, lead: auth.Principal{Email: "lead@org22.example.ac.uk"}}
	want := expectedMail([]*unit{awarded, notAwarded})
	got := func(to, subject string) Received {
		return Received{To: to, Subject: subject, MessageID: to + subject, At: at.Add(time.Second)}
	}
	// Every email arrived but the applicant's receipt of 21 and 22's receipt to its lead.
	msgs := []Received{
		got("lead@org21.example.ac.uk", receiptSubject(awarded.title)),
		got("applicant@org21.example.ac.uk", awardSubject(awarded.title)),
		got("lead@org21.example.ac.uk", awardSubject(awarded.title)),
		got("applicant@org22.example.ac.uk", receiptSubject(notAwarded.title)),
	}
	reason := "permanent: no longer true: the application is decided, and the decision's email says so"
	overtaken := map[string]string{
		"applicant@org21.example.ac.uk\x00" + receiptSubject(awarded.title): reason,
		"lead@org22.example.ac.uk\x00" + receiptSubject(notAwarded.title):   reason, // says decided, yet no award reached them
	}

	var none tally
	checkMail(&none, msgs, want, nil)
	if len(none.lost) != 2 || len(none.overtaken) != 0 {
		t.Fatalf("without the delivery log: lost %q, overtaken %q; want both receipts lost", none.lost, none.overtaken)
	}

	var read tally
	checkMail(&read, msgs, want, overtaken)
	if len(read.lost) != 1 || !strings.Contains(read.lost[0], "lead@org22.example.ac.uk") {
		t.Errorf("lost %q, want only the receipt to 22's lead, whom no award reached", read.lost)
	}
	if len(read.overtaken) != 1 || !strings.Contains(read.overtaken[0], "applicant@org21.example.ac.uk") || !strings.Contains(read.overtaken[0], "decided") {
		t.Errorf("overtaken %q, want the receipt to 21's applicant with notify's reason", read.overtaken)
	}
	if got := missingOwed(msgs, want, overtaken); len(got) != 1 {
		t.Errorf("waitForMail would still wait for %q, want only the receipt to 22's lead", got)
	}

	// An award email given up is never excused, whatever the log says.
	msgs = msgs[:1]
	var award tally
	checkMail(&award, msgs, want, map[string]string{"applicant@org21.example.ac.uk\x00" + awardSubject(awarded.title): reason})
	for _, l := range award.lost {
		if strings.Contains(l, "funded") && strings.Contains(l, "applicant@org21") {
			return
		}
	}
	t.Errorf("lost %q, want the award to 21's applicant among them", award.lost)
}
