package reliability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// tally is the end state compared with what the services accepted.
type tally struct {
	expectedEmails int
	lost           []string // accepted effects that never happened
	duplicated     []string // effects that happened more than once
	resent         []string // emails sent again under the same Message-ID
	delays         []time.Duration
	emails         int
	// overtaken are receipts notify gave up on purpose: a later attempt found the
	// application decided, and the decision's email had reached the same person.
	overtaken []string
}

func (t *tally) lose(format string, args ...any) {
	t.lost = append(t.lost, fmt.Sprintf(format, args...))
}

// receiptSubject and awardSubject are the fund emails notify sends.
func receiptSubject(title string) string {
	return "Technician Collaboration Fund: application received — " + title
}
func awardSubject(title string) string {
	return "Technician Collaboration Fund: your application is funded — " + title
}

// expectedMail lists every (recipient, subject) the accepted requests must cause once.
func expectedMail(units []*unit) map[string]*unit {
	want := map[string]*unit{}
	for _, u := range units {
		if u.submittedAt.IsZero() {
			continue
		}
		for _, to := range []string{u.applicant.Email, u.lead.Email} {
			want[to+"\x00"+receiptSubject(u.title)] = u
			if u.awarded {
				want[to+"\x00"+awardSubject(u.title)] = u
			}
		}
	}
	return want
}

// waitForMail polls the mailbox until every expected email has arrived (or was given
// up on purpose, as gaveUp reads notify's delivery log) or within passes.
func waitForMail(ctx context.Context, m *Mailbox, want map[string]*unit, gaveUp func() map[string]string, within time.Duration) {
	deadline := time.Now().Add(within)
	var overtaken map[string]string
	for polls := 0; time.Now().Before(deadline) && ctx.Err() == nil; polls++ {
		got := map[string]bool{}
		msgs := m.Messages()
		for _, r := range msgs {
			got[r.To+"\x00"+r.Subject] = true
		}
		missing := 0
		for k := range want {
			if !got[k] {
				missing++
			}
		}
		if missing > 0 && polls%25 == 24 { // every five seconds, while some are missing
			overtaken = gaveUp()
		}
		if missing == 0 || len(missingOwed(msgs, want, overtaken)) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// missingOwed lists the expected emails that have not arrived and were not overtaken
// (see checkMail).
func missingOwed(msgs []Received, want map[string]*unit, overtaken map[string]string) []string {
	t := &tally{}
	checkMail(t, msgs, want, overtaken)
	return t.lost
}

// receiptOvertaken is the start of the reason notify gives a receipt it gave up because
// its application was decided before an attempt of it could be sent: the receipt says
// ITSS will write with the decision, and a later attempt is not sent once it has
// (docs/RULES.md, "A fund email overtaken by what its application did since").
const receiptOvertaken = "no longer true: the application is decided"

// givenUpReceipts reads notify's delivery log for receipts given up as overtaken by
// their application's decision, by (recipient, subject), with notify's reason.
func givenUpReceipts(ctx context.Context, s *Stack, c *client, ops string) (map[string]string, error) {
	out := map[string]string{}
	cursor := ""
	for range 1000 {
		url := s.Addr["notify"] + "/v1/deliveries?status=given_up&limit=200"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		r, err := c.do(ctx, http.MethodGet, url, ops, nil, nil)
		if err != nil || r.status != http.StatusOK {
			return nil, fmt.Errorf("list notify's given-up deliveries: %v %s", err, r)
		}
		var page struct {
			Items []struct {
				Kind      string `json:"kind"`
				Subject   string `json:"subject"`
				LastError string `json:"last_error"`
				To        []struct {
					Email string `json:"email"`
				} `json:"to"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := r.decode(&page); err != nil {
			return nil, err
		}
		for _, d := range page.Items {
			if d.Kind != "fund-received" || !strings.Contains(d.LastError, receiptOvertaken) {
				continue
			}
			for _, to := range d.To {
				out[to.Email+"\x00"+d.Subject] = d.LastError
			}
		}
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
	return nil, errors.New("list notify's given-up deliveries: more than 1000 pages")
}

// checkMail counts lost, duplicated and delayed emails. A receipt that never arrived
// is not lost when notify's delivery log says it gave it up because the application
// was decided (overtaken, from givenUpReceipts) and the decision's email reached the
// same person: that is the rule, not a loss.
func checkMail(t *tally, msgs []Received, want map[string]*unit, overtaken map[string]string) {
	t.expectedEmails = len(want)
	t.emails = len(msgs)
	first := map[string]time.Time{}
	n := map[string]int{}
	ids := map[string]map[string]bool{}
	for _, r := range msgs {
		k := r.To + "\x00" + r.Subject
		n[k]++
		if ids[k] == nil {
			ids[k] = map[string]bool{}
		}
		ids[k][r.MessageID] = true
		if _, ok := first[k]; !ok {
			first[k] = r.At
		}
	}
	for k, c := range n {
		if _, subject, _ := strings.Cut(k, "\x00"); c > 1 && !assignSubject.MatchString(subject) { // one per assignment: checkAssignments counts them
			if len(ids[k]) == 1 {
				t.resent = append(t.resent, fmt.Sprintf("email %q sent %d times under one Message-ID", strings.ReplaceAll(k, "\x00", ": "), c))
			} else {
				t.duplicated = append(t.duplicated, fmt.Sprintf("email %q sent %d times under %d Message-IDs", strings.ReplaceAll(k, "\x00", ": "), c, len(ids[k])))
			}
		}
	}
	for k, u := range want {
		at, ok := first[k]
		if !ok {
			to, subject, _ := strings.Cut(k, "\x00")
			why, gaveUp := overtaken[k]
			if _, decided := first[to+"\x00"+awardSubject(u.title)]; gaveUp && u.awarded && decided && subject == receiptSubject(u.title) {
				t.overtaken = append(t.overtaken, fmt.Sprintf("email %q given up (%s) after the award reached them", strings.ReplaceAll(k, "\x00", ": "), why))
				continue
			}
			t.lose("email %q never arrived", strings.ReplaceAll(k, "\x00", ": "))
			continue
		}
		if strings.Contains(k, "application received") {
			t.delays = append(t.delays, max(0, at.Sub(u.submittedAt)))
		}
	}
	slices.Sort(t.duplicated)
	slices.Sort(t.lost)
	slices.Sort(t.overtaken)
}

// checkState reads every accepted object back through the APIs: the command's events
// were stored, and the projections other services keep of them caught up.
func checkState(ctx context.Context, s *Stack, c *client, ops string, out *outcome, t *tally, within time.Duration) {
	awards := 0
	for _, u := range out.units {
		if u.orgID == "" {
			continue
		}
		var org struct{ Status string }
		if r, err := c.do(ctx, http.MethodGet, s.Addr["signatory"]+"/v1/organisations/"+u.orgID, ops, nil, nil); err != nil || r.status != 200 || r.decode(&org) != nil {
			t.lose("organisation %d (%s): cannot read it: %v %s", u.n, u.orgID, err, r)
		} else if u.err == nil && org.Status != "announced" {
			t.lose("organisation %d (%s): status %q, want announced", u.n, u.orgID, org.Status)
		}
		if u.appID != "" && !u.submittedAt.IsZero() {
			var app struct{ Status string }
			want := "submitted"
			if u.awarded {
				want = "awarded"
				awards++
			}
			if r, err := c.do(ctx, http.MethodGet, s.Addr["fund"]+"/v1/applications/"+u.appID, ops, nil, nil); err != nil || r.status != 200 || r.decode(&app) != nil {
				t.lose("application %d (%s): cannot read it: %v %s", u.n, u.appID, err, r)
			} else if app.Status != want {
				t.lose("application %d (%s): status %q, want %q", u.n, u.appID, app.Status, want)
			}
		}
		if u.reviewSubID != "" && u.err == nil {
			// The review service's submitted event closes the obligation in the signatory
			// service: poll, since it travels through NATS.
			if err := eventually(ctx, within, func() error {
				var obs struct {
					Items []struct {
						Status       string
						SubmissionID string `json:"submission_id"`
					}
				}
				r, err := c.do(ctx, http.MethodGet, s.Addr["signatory"]+"/v1/organisations/"+u.orgID+"/obligations", ops, nil, nil)
				if err != nil || r.status != 200 {
					return fmt.Errorf("read obligations: %v %s", err, r)
				}
				if err := r.decode(&obs); err != nil {
					return err
				}
				met := 0
				for _, o := range obs.Items {
					if o.Status == "met" && o.SubmissionID == u.reviewSubID {
						met++
					}
				}
				if met != 1 {
					return fmt.Errorf("%d obligations met by submission %s, want 1: %s", met, u.reviewSubID, r)
				}
				return nil
			}); err != nil {
				t.lose("organisation %d (%s): %v", u.n, u.orgID, err)
			}
		}
	}
	var ledger struct {
		AwardedPence int64 `json:"awarded_pence"`
		Entries      int   `json:"entries"`
	}
	if r, err := c.do(ctx, http.MethodGet, s.Addr["fund"]+"/v1/rounds/"+out.roundID+"/ledger", ops, nil, nil); err != nil || r.status != 200 || r.decode(&ledger) != nil {
		t.lose("ledger: cannot read it: %v %s", err, r)
	} else {
		if ledger.Entries > awards || ledger.AwardedPence > int64(awards)*awardPence {
			t.duplicated = append(t.duplicated, fmt.Sprintf("ledger has %d entries (%d pence) for %d awards", ledger.Entries, ledger.AwardedPence, awards))
		}
		if ledger.Entries < awards {
			t.lose("ledger has %d entries for %d awards", ledger.Entries, awards)
		}
	}
}

func eventually(ctx context.Context, within time.Duration, cond func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// percentile of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}
