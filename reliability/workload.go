package reliability

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
)

// Workload is what the harness drives through the public APIs.
type Workload struct {
	// Units is the number of organisations onboarded; each applies to the fund, every
	// second one submits its self-assessment to review, every third is awarded.
	Units int
	// Workers run units concurrently.
	Workers int
	// Settle bounds how long one operation may take to be accepted, faults included.
	Settle time.Duration
	// MinDuration keeps the workload going, with more units, until at least this long
	// has passed, so that the faults have something to hit however fast the suite is.
	MinDuration time.Duration
}

// unit is one organisation's journey and what the services accepted of it.
type unit struct {
	n           int
	orgID       string
	lead        auth.Principal
	applicant   auth.Principal
	appID       string
	title       string
	submittedAt time.Time
	awarded     bool
	reviewSubID string
	err         error
}

// outcome is what the workload saw.
type outcome struct {
	units   []*unit
	roundID string
	// reviewRoundID is the review round every submitted self-assessment was put in.
	reviewRoundID string
	ops           int // operations accepted
	stats         opStats
	duration      time.Duration
}

var submissionPath = regexp.MustCompile(`/v1/submissions/([A-Za-z0-9-]+)`)

const awardPence = 10000

func (w Workload) run(ctx context.Context, s *Stack, c *client, ops string) (*outcome, error) {
	started := time.Now()
	out := &outcome{}
	var mu sync.Mutex
	count := func(st opStats) {
		mu.Lock()
		out.ops++
		out.stats.add(st)
		mu.Unlock()
	}
	// The round every unit applies to, open now and with a budget for every award.
	round := map[string]any{"name": "Reliability round", "opens": "2026-01-12T09:00:00Z", "closes": "2099-03-31T17:00:00+01:00",
		"budget_pence": int64(100_000_000), "min_award_pence": awardPence, "max_award_pence": 100000,
		"project_start": "2100-05-01", "project_end": "2100-12-31", "themes": []string{"visibility", "recognition", "career_development", "sustainability"}}
	st, err := c.retry(ctx, w.Settle, func() (reply, error) {
		return c.do(ctx, http.MethodPost, s.Addr["fund"]+"/v1/rounds", ops, round, map[string]string{"Idempotency-Key": "round-" + s.prefix})
	}, func(a attempt) (bool, error) {
		if a.status != http.StatusCreated && a.status != http.StatusOK {
			return false, fmt.Errorf("open round: %s", a.reply)
		}
		var r struct{ ID string }
		if err := a.decode(&r); err != nil {
			return false, fmt.Errorf("open round: %w", err)
		}
		out.roundID = r.ID
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	count(st)

	jobs := make(chan *unit)
	var wg sync.WaitGroup
	for range w.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range jobs {
				u.err = w.journey(ctx, s, c, ops, out.roundID, u, count)
			}
		}()
	}
	for n := 0; ctx.Err() == nil && (n < w.Units || time.Since(started) < w.MinDuration); n++ {
		u := &unit{n: n}
		out.units = append(out.units, u)
		select {
		case jobs <- u:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if err := w.assignReviews(ctx, s, c, ops, out, count); err != nil {
		return nil, fmt.Errorf("review round: %w", err)
	}
	out.duration = time.Since(started)
	return out, ctx.Err()
}

// journey onboards one organisation, applies to the fund and, for some, submits to review
// and awards. Each step is retried through faults until the service accepts it.
func (w Workload) journey(ctx context.Context, s *Stack, c *client, ops, roundID string, u *unit, count func(opStats)) error {
	sig := s.Addr["signatory"]
	domain := fmt.Sprintf("org%d.%s.example.ac.uk", u.n, s.prefix)
	leadEmail := "lead@" + domain
	u.title = fmt.Sprintf("Skills exchange %s-%d", s.prefix, u.n)

	// Creating an organisation has no idempotency key: if a connection broke after the
	// request was sent, the organisation may exist twice; only the accepted one is used.
	st, err := c.retry(ctx, w.Settle, func() (reply, error) {
		return c.do(ctx, http.MethodPost, sig+"/v1/organisations", ops, map[string]any{
			"name": fmt.Sprintf("Reliability University %s %d", s.prefix, u.n), "kind": "signatory", "sector": "higher_education",
			"country": "GB", "website": "https://www." + domain, "enquiry_contact": map[string]string{"name": "Sam Lead", "email": leadEmail}}, nil)
	}, func(a attempt) (bool, error) {
		if a.status != http.StatusCreated {
			return false, fmt.Errorf("create organisation: %s", a.reply)
		}
		var r struct{ ID string }
		if err := a.decode(&r); err != nil {
			return false, fmt.Errorf("create organisation: %w", err)
		}
		u.orgID = r.ID
		return true, nil
	})
	if err != nil {
		return err
	}
	count(st)
	u.lead = auth.Principal{Subject: fmt.Sprintf("lead-%d", u.n), Role: auth.RoleLead, Org: u.orgID, Name: "Sam Lead", Email: leadEmail}
	u.applicant = auth.Principal{Subject: fmt.Sprintf("applicant-%d", u.n), Role: auth.RoleApplicant, Org: u.orgID, Name: "Alex Applicant", Email: "applicant@" + domain}

	// The organisation joined thirteen months ago, so its first obligation's window
	// (announcement + 12 months) is open and review accepts its submission; the steps
	// follow each other and none is in the future, as the signatory service requires.
	on := onboardingDates(time.Now())
	steps := []struct {
		path string
		body map[string]any
	}{
		{"meeting", map[string]any{"held_on": on.meeting.String(), "notes": "Met the PVC Research"}},
		{"form", map[string]any{"signed_on": on.signed.String(),
			"leader":           map[string]string{"name": "Prof. Jane Smith", "title": "Vice-Chancellor", "email": "vc@" + domain},
			"nominated_lead":   map[string]string{"name": "Sam Lead", "email": leadEmail},
			"point_of_contact": map[string]string{"name": "Technical Services Office", "email": "technicians@" + domain},
			"plan_page":        "https://www." + domain + "/technician-commitment"}},
		{"announcement", map[string]any{"announced_on": on.announced.String()}},
	}
	for _, step := range steps {
		if err := w.act(ctx, c, step.path, sig+"/v1/organisations/"+u.orgID+"/"+step.path, ops, step.body, nil, count); err != nil {
			return err
		}
	}

	// The fund learns of the announcement from the signatory's events: until then the
	// applicant is refused (403) and tries again, which is the event's delay.
	fund := s.Addr["fund"]
	app := s.Token(u.applicant)
	st, err = c.retry(ctx, w.Settle, func() (reply, error) {
		return c.do(ctx, http.MethodPost, fund+"/v1/applications", app, map[string]any{
			"round_id": roundID, "title": u.title, "summary": "Technicians from both institutions run four joint workshops.",
			"themes": []string{"career_development"}, "requested_amount_pence": 85000,
			"partners":     []map[string]string{{"name": "Exampleton College"}},
			"endorsement":  map[string]string{"name": "Sam Lead", "email": leadEmail},
			"budget_lines": []map[string]any{{"description": "Consumables", "amount_pence": 45000}, {"description": "Travel", "amount_pence": 40000}},
			"milestones":   []map[string]string{{"description": "First workshop", "due": "2100-06-15"}}},
			map[string]string{"Idempotency-Key": fmt.Sprintf("draft-%s-%d", s.prefix, u.n)})
	}, func(a attempt) (bool, error) {
		switch a.status {
		case http.StatusCreated, http.StatusOK:
			var r struct{ ID string }
			if err := a.decode(&r); err != nil {
				return false, fmt.Errorf("draft application: %w", err)
			}
			u.appID = r.ID
			return true, nil
		case http.StatusForbidden, http.StatusUnprocessableEntity:
			return false, nil // not yet known as an announced signatory with this lead
		}
		return false, fmt.Errorf("draft application: %s", a.reply)
	})
	if err != nil {
		return err
	}
	count(st)
	if err := w.act(ctx, c, "submit application", fund+"/v1/applications/"+u.appID+"/submission", app, nil,
		map[string]string{"Idempotency-Key": fmt.Sprintf("submit-%s-%d", s.prefix, u.n)}, count); err != nil {
		return err
	}
	u.submittedAt = time.Now()

	if u.n%3 == 0 {
		for _, step := range []struct{ path, key string }{{"assessment", "assess"}, {"award", "award"}} {
			var body any
			if step.path == "award" {
				body = map[string]any{"amount_pence": awardPence}
			}
			if err := w.act(ctx, c, step.path, fund+"/v1/applications/"+u.appID+"/"+step.path, ops, body,
				map[string]string{"Idempotency-Key": fmt.Sprintf("%s-%s-%d", step.key, s.prefix, u.n)}, count); err != nil {
				return err
			}
		}
		u.awarded = true
	}

	if u.n%2 == 0 {
		return w.submitReview(ctx, s, c, u, count)
	}
	return nil
}

// submitReview has the lead draft and submit the self-assessment; the review service
// learns of the open obligation from the signatory's events, and its submission closes
// the obligation back in the signatory service.
func (w Workload) submitReview(ctx context.Context, s *Stack, c *client, u *unit, count func(opStats)) error {
	rev := s.Addr["review"]
	lead := s.Token(u.lead)
	body := map[string]any{
		"self_assessment": []map[string]any{
			{"theme": "visibility", "narrative": "Technicians are named on papers.", "rating": 3},
			{"theme": "recognition", "narrative": "An annual technician award.", "rating": 2},
			{"theme": "career_development", "narrative": "Development plans for all.", "rating": 2},
			{"theme": "sustainability", "narrative": "Succession planning started.", "rating": 1}},
		"action_plan": []map[string]any{{"theme": "career_development", "action": "Fund 10 professional registrations",
			"owner": "Head of Technical Services", "success_measure": "10 registered", "target_date": "2027-07-31"}},
		"technician_voice": map[string]any{"how_consulted": "Survey and three focus groups", "participants": 142},
		"webpage":          "https://www.example.ac.uk/technician-commitment"}
	st, err := c.retry(ctx, w.Settle, func() (reply, error) {
		return c.do(ctx, http.MethodPost, rev+"/v1/submissions", lead, body, nil)
	}, func(a attempt) (bool, error) {
		switch a.status {
		case http.StatusCreated, http.StatusOK:
			var r struct{ ID string }
			if err := a.decode(&r); err != nil {
				return false, fmt.Errorf("draft submission: %w", err)
			}
			u.reviewSubID = r.ID
			return true, nil
		case http.StatusForbidden:
			return false, nil // the announcement has not reached the review service yet
		case http.StatusConflict:
			// The draft exists already (an earlier attempt's reply was lost): use it.
			if m := submissionPath.FindStringSubmatch(string(a.body)); m != nil && a.unknown {
				u.reviewSubID = m[1]
				return true, nil
			}
			if strings.Contains(string(a.body), "no open obligation") {
				return false, nil // the obligation has not reached the review service yet
			}
		}
		return false, fmt.Errorf("draft submission: %s", a.reply)
	})
	if err != nil {
		return err
	}
	count(st)
	return w.act(ctx, c, "submit submission", rev+"/v1/submissions/"+u.reviewSubID+"/submission", lead, nil, nil, count)
}

// act POSTs until the service accepts: 200 or 201, or a 409 after an attempt whose
// outcome is unknown. That 409 says the change is made already: a step repeated after
// its reply was lost is refused as out of order, and an Idempotency-Key whose holder
// died before storing its answer lapses and lets the request run, and be refused,
// again. The end-state checks read every such change back.
func (w Workload) act(ctx context.Context, c *client, what, url, token string, body any, header map[string]string, count func(opStats)) error {
	st, err := c.retry(ctx, w.Settle, func() (reply, error) {
		return c.do(ctx, http.MethodPost, url, token, body, header)
	}, func(a attempt) (bool, error) {
		if a.status == http.StatusOK || a.status == http.StatusCreated || (a.status == http.StatusConflict && a.unknown) {
			return true, nil
		}
		return false, fmt.Errorf("%s: %s", what, a.reply)
	})
	if err != nil {
		return err
	}
	count(st)
	return nil
}

// onboarding is when an organisation's onboarding steps happened.
type onboarding struct{ meeting, signed, announced civil.Date }

// onboardingDates dates the onboarding relative to now: the meeting about fourteen
// months ago, the form a week after thirteen months ago, the announcement thirteen
// months ago. Fixed dates would move the obligation window out of reach as the
// calendar turns (a window still a year away refuses every submission). Dates are
// taken in UTC, which is never ahead of London, so none is after the services' today.
func onboardingDates(now time.Time) onboarding {
	today := civil.Of(now.UTC())
	announced := today.AddMonths(-13)
	return onboarding{meeting: today.AddMonths(-14), signed: announced.AddDays(-7), announced: announced}
}
