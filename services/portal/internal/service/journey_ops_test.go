package service

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
	fundtest "github.com/itss/techcommit/services/fund/servicetest"
	notifytest "github.com/itss/techcommit/services/notify/servicetest"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
	sigtest "github.com/itss/techcommit/services/signatory/servicetest"
)

// startOpsStack is startStack for an ops journey: the portal's OpenID callback is
// one the browser can follow. The provider sends the browser back to a loopback
// address registered as the callback, which hands it on, query and all, to the
// test portal's /auth/callback (whose address is known only once it runs), as a
// name in DNS would point at it. The flow's cookie goes with it: cookies are per
// host, not per port.
func startOpsStack(t *testing.T, withReview bool) *stack {
	t.Helper()
	s := &stack{env: testenv.NewEnv(t), box: startMailbox(t)}
	var portalURL string
	jwks := forwardJWKS(t, &portalURL)
	s.sig = sigtest.Start(t, s.env, portalIssuer, jwks)
	s.fund = fundtest.Start(t, s.env, portalIssuer, jwks)
	s.notify = notifytest.Start(t, s.env, portalIssuer, jwks, "127.0.0.1", s.box.port)
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, portalURL+"/auth/callback?"+r.URL.RawQuery, http.StatusFound)
	}))
	t.Cleanup(callback.Close)
	svcs := services{signatory: s.sig.URL, notify: s.notify.URL, fund: s.fund.URL, opsRedirect: callback.URL + "/auth/callback"}
	if withReview {
		s.review = startReview(t, s.env, jwks)
		svcs.review = s.review.URL
	}
	s.p = startPortalOn(t, s.env, svcs)
	portalURL = s.p.url
	return s
}

// opsBrowserSignIn signs the local ops user in by keyboard: the console sends to
// sign in, through the OpenID provider's page, and back to the console after.
func opsBrowserSignIn(t *testing.T, b *browsertest.Browser, s *stack) {
	t.Helper()
	// Signed out, the console sends the browser straight to ITSS's identity
	// provider (here the local one), and back to the page once signed in.
	b.Open(s.p.url + "/ops")
	heading(t, b, "Sign in")
	opsTypeInto(t, b, "textbox", "Email address", oidcdev.LocalOpsEmail)
	b.Tab() // the password
	b.Type(testOpsPassword)
	b.Enter()
	heading(t, b, "Today")
	if got := pagePath(t, b); got != "/ops" {
		t.Fatalf("after signing in the browser is on %s", got)
	}
}

// opsTypeInto tabs to a field and types into it.
func opsTypeInto(t *testing.T, b *browsertest.Browser, role, name, text string) {
	t.Helper()
	tabTo(t, b, role, name)
	b.Type(text)
}

// An ops person, by keyboard alone, signs in through the OpenID provider, onboards
// an organisation from its enquiry to its announcement (meeting a field error the
// signatory service reports, shown beside its field), finds the history naming them,
// follows the organisation's link to the reviewer pool's form (its identifier filled
// in), then runs a fund round: opens it, corrects its closing time, assesses two applications, awards one and
// declines the other with feedback (meeting the feedback's field error first);
// opens a round for next month letting the previous round's grantees apply, and
// corrects that choice while the round has not opened;
// last, replays a dead letter whose cause is gone.
// axe-core checks every page on the way.
func TestJourneyOps(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	lead := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	other := onboard(t, s.p, s.sig, "Othertown College", "lead-b@example.ac.uk")
	b := newBrowser(t)

	opsBrowserSignIn(t, b, s)
	screenshot(b, "ops-today")

	// Onboarding.
	tabTo(t, b, "link", "Organisations")
	b.Enter()
	heading(t, b, "Organisations")
	tabTo(t, b, "link", "Record an enquiry")
	b.Enter()
	heading(t, b, "Record an enquiry")
	opsTypeInto(t, b, "textbox", "Organisation name", "Newtown University")
	opsTypeInto(t, b, "combobox", "Kind", "Signatory")
	opsTypeInto(t, b, "combobox", "Sector", "Higher")
	opsTypeInto(t, b, "textbox", "Website", "https://www.newtown.ac.uk")
	opsTypeInto(t, b, "textbox", "Contact's name", "Sam Patel")
	opsTypeInto(t, b, "textbox", "Contact's email address", "sam at newtown.ac.uk")
	tabTo(t, b, "button", "Record the enquiry")
	b.Enter()
	heading(t, b, "Record an enquiry")
	errorSummaryHasFocus(t, b, "field-enquiry_contact-email", "Contact's email address")
	describedByError(t, b, "field-enquiry_contact-email")
	b.ShiftTab()
	tabTo(t, b, "textbox", "Contact's email address")
	b.Type("sam.patel@newtown.ac.uk")
	tabTo(t, b, "button", "Record the enquiry")
	b.Enter()
	heading(t, b, "Newtown University")
	for _, step := range []struct {
		link   string
		fields [][3]string
	}{
		{"Record the meeting", nil},
		{"Record the signed form", [][3]string{{"textbox", "Leader's name", "Prof. Jane Smith"}, {"textbox", "Leader's email address", "vc@newtown.ac.uk"},
			{"textbox", "Nominated lead's name", "Sam Patel"}, {"textbox", "Nominated lead's email address", "sam.patel@newtown.ac.uk"},
			{"textbox", "Public point of contact", "Technical Services Office"}}},
		{"Record the announcement", nil},
	} {
		tabTo(t, b, "link", step.link)
		b.Enter()
		heading(t, b, step.link)
		// The title names the organisation, as the caption above the heading does,
		// so that two organisations' forms open in tabs are told apart.
		if got, want := b.Title(), step.link+": Newtown University – Technician Commitment"; got != want {
			t.Errorf("the form's title is %q, want %q", got, want)
		}
		for _, f := range step.fields {
			opsTypeInto(t, b, f[0], f[1], f[2])
		}
		tabTo(t, b, "button", step.link)
		b.Enter()
		heading(t, b, "Newtown University")
	}
	screenshot(b, "ops-organisation")
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "Announced (listed in the directory)") {
		t.Errorf("the announced organisation's summary reads %q", got)
	}
	if got := b.Text(browsertest.CSS(".history tbody")); strings.Count(got, "You ("+oidcdev.LocalOpsName+")") < 4 {
		t.Errorf("the history does not name the ops person for every step: %q", got)
	}
	// An announced signatory's technicians may join the reviewer pool: its page leads
	// to the pool's form with the organisation's identifier filled in.
	orgID := strings.TrimPrefix(pagePath(t, b), "/ops/organisations/")
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, orgID) {
		t.Errorf("the summary does not give the identifier %s: %q", orgID, got)
	}
	tabTo(t, b, "link", "Add a reviewer from this organisation")
	b.Enter()
	heading(t, b, "Add a reviewer")
	if got := b.Value(browsertest.CSS("#field-organisation_id")); got != orgID {
		t.Errorf("the pool's form holds organisation %q, want %s", got, orgID)
	}

	// The fund.
	year := time.Now().Year() + 1
	tabTo(t, b, "link", "Collaboration Fund")
	b.Enter()
	heading(t, b, "Collaboration Fund")
	tabTo(t, b, "link", "Open a fund round")
	b.Enter()
	heading(t, b, "Open a fund round")
	opsFillRound(t, b, "Technician Collaboration Fund Journey", time.Now().Add(-time.Hour), time.Now().AddDate(0, 1, 0), year)
	tabTo(t, b, "button", "Open the round")
	b.Enter()
	heading(t, b, "Collaboration Fund")
	// The open round corrected: its closing time put back a month.
	tabTo(t, b, "link", "Correct Technician Collaboration Fund Journey")
	b.Enter()
	heading(t, b, "Correct a fund round")
	if got, want := b.Title(), "Correct a fund round: Technician Collaboration Fund Journey – Technician Commitment"; got != want {
		t.Errorf("the correction's title is %q, want %q", got, want)
	}
	later := time.Now().AddDate(0, 2, 0).In(opsLondon())
	opsTypeInto(t, b, "textbox", "Closes", later.Format("2006-01-02 15:04"))
	tabTo(t, b, "button", "Save the round")
	b.Enter()
	heading(t, b, "Collaboration Fund")
	rounds := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds", opsToken(t, s.fund, "fund"), nil)).JSON(t)["items"].([]any)
	roundID := rounds[0].(map[string]any)["id"].(string)
	if got := rounds[0].(map[string]any)["closes_london"]; got != later.Format("2006-01-02 15:04 MST") {
		t.Errorf("the corrected round closes %v, want %s", got, later.Format("2006-01-02 15:04 MST"))
	}
	awardee := opsSubmitApplication(t, s, roundID, lead, "lead-a@example.ac.uk", year)
	declined := opsSubmitApplication(t, s, roundID, other, "lead-b@example.ac.uk", year)

	b.Open(b.CurrentURL()) // the applications arrived while the page was open
	tabTo(t, b, "link", "Technician Collaboration Fund Journey")
	b.Enter()
	heading(t, b, "Applications")
	tabTo(t, b, "link", "Skills exchange "+lead)
	b.Enter()
	heading(t, b, "Skills exchange "+lead)
	tabTo(t, b, "button", "Start assessment")
	b.Enter()
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "The round's budget has £1,000 left") {
		t.Fatalf("the award form does not show the budget left: %q", got)
	}
	screenshot(b, "ops-application")
	tabTo(t, b, "button", "Award") // the amount is the one requested
	b.Enter()
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "Awarded") || !strings.Contains(got, "£700") {
		t.Fatalf("after the award the application reads %q", got)
	}

	b.Open(s.p.url + "/ops/fund/applications/" + declined)
	tabTo(t, b, "button", "Start assessment")
	b.Enter()
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "The round's budget has £300 left") {
		t.Errorf("after one award the budget left reads %q", got)
	}
	tabTo(t, b, "button", "Decline")
	b.Enter()
	errorSummaryHasFocus(t, b, "field-feedback", "Feedback for the applicant")
	b.Type("A strong idea; this round's budget went to a project further along.")
	tabTo(t, b, "button", "Decline")
	b.Enter()
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "Declined") || !strings.Contains(got, "further along") {
		t.Fatalf("after the decline the application reads %q", got)
	}

	// A round that opens next month, opened letting the previous round's grantees
	// apply (its checkbox); its correction form, while it has not opened, shows that
	// choice, which is changed back.
	b.Open(s.p.url + "/ops/fund")
	heading(t, b, "Collaboration Fund")
	tabTo(t, b, "link", "Open a fund round")
	b.Enter()
	heading(t, b, "Open a fund round")
	opsFillRound(t, b, "Technician Collaboration Fund Next", time.Now().AddDate(0, 1, 0), time.Now().AddDate(0, 2, 0), year)
	tabTo(t, b, "checkbox", "Let organisations funded in the previous round apply")
	b.Space()
	tabTo(t, b, "button", "Open the round")
	b.Enter()
	heading(t, b, "Collaboration Fund")
	tabTo(t, b, "link", "Correct Technician Collaboration Fund Next")
	b.Enter()
	heading(t, b, "Correct a fund round")
	if got := b.Text(browsertest.CSS(`select[name="previously_funded"] option:checked`)); got != "May apply to this round" {
		t.Errorf("the upcoming round's correction form shows %q for the previous round's grantees, want the choice it was opened with", got)
	}
	opsTypeInto(t, b, "combobox", "Organisations funded in the previous round", "Cannot")
	tabTo(t, b, "button", "Save the round")
	b.Enter()
	heading(t, b, "Collaboration Fund")
	next := 0
	for _, r := range s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds", opsToken(t, s.fund, "fund"), nil)).JSON(t)["items"].([]any) {
		if r := r.(map[string]any); r["name"] == "Technician Collaboration Fund Next" {
			next++
			if r["exclude_previously_funded"] != true || r["version"] != float64(2) {
				t.Errorf("the upcoming round, opened letting them apply and corrected, reads %v (version %v), want them excluded at version 2", r["exclude_previously_funded"], r["version"])
			}
		}
	}
	if next != 1 {
		t.Errorf("the fund holds %d rounds named Technician Collaboration Fund Next, want the one opened", next)
	}
	// The email pages.
	tabTo(t, b, "link", "Email")
	b.Enter()
	heading(t, b, "Email deliveries")
	// An email names its organisation, which leads to that organisation's emails alone
	// (the applications' receipts are about the two organisations).
	screenshot(b, "ops-email")
	tabTo(t, b, "link", "Only the emails about Othertown College")
	b.Enter()
	heading(t, b, "Email deliveries")
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "Only the emails about Othertown College.") || strings.Contains(got, "Exampleton") {
		t.Errorf("Othertown College's emails read %q", got)
	}
	tabTo(t, b, "link", "Every organisation's emails")
	b.Enter()
	heading(t, b, "Email deliveries")
	tabTo(t, b, "link", "Reminders to come")
	b.Enter()
	heading(t, b, "Reminders to come")
	tabTo(t, b, "link", "API tokens")
	b.Enter()
	heading(t, b, "API tokens of every organisation")

	// A dead letter, replayed once its cause is gone; one that fails again stays.
	poison, fixed := opsDeadLetters(t, s, lead)
	tabTo(t, b, "link", "Dead letters")
	b.Enter()
	heading(t, b, "Dead letters")
	screenshot(b, "ops-dead-letters")
	// The letters' table fits a desktop's window: its Replay buttons were off the
	// right edge, to be found by scrolling the table sideways.
	if got := b.ScrollingSideways("main .table-wrap"); len(got) != 0 {
		t.Errorf("at 1280px the dead letters' table scrolls sideways: %q", got)
	}
	tabTo(t, b, "button", fmt.Sprintf("Replay signatory letter %d", fixed))
	b.Enter()
	heading(t, b, "Dead letters")
	// The replay is said, as a status message: the row has gone, and the focus with it.
	if got, want := b.Text(browsertest.CSS(`#replayed[role="status"]`)), fmt.Sprintf("Dead letter %d of signatory was replayed, and removed.", fixed); got != want {
		t.Errorf("after the replay the page says %q, want %q", got, want)
	}
	if got := b.Text(browsertest.CSS("tbody")); strings.Contains(got, "event store is unavailable") || !strings.Contains(got, "decode") {
		t.Errorf("after the replay the dead letters read %q", got)
	}
	tabTo(t, b, "button", fmt.Sprintf("Replay signatory letter %d", poison))
	b.Enter()
	if got := b.Text(browsertest.CSS(".error-summary")); !strings.Contains(got, "was not replayed") {
		t.Errorf("the failed replay reads %q", got)
	}

	app := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/applications/"+awardee, opsToken(t, s.fund, "fund"), nil)).JSON(t)
	if app["status"] != "awarded" || app["award_pence"] != float64(70000) {
		t.Errorf("the fund has the award as %v, %v", app["status"], app["award_pence"])
	}

	// Last, the organisation onboarded above withdraws, recorded by keyboard.
	b.Open(s.p.url + "/ops/organisations/" + orgID)
	tabTo(t, b, "link", "Record a withdrawal")
	b.Enter()
	heading(t, b, "Record a withdrawal")
	if got, want := b.Title(), "Record a withdrawal: Newtown University – Technician Commitment"; got != want {
		t.Errorf("the withdrawal's title is %q, want %q", got, want)
	}
	opsTypeInto(t, b, "textbox", "Withdrawn on", time.Now().In(opsLondon()).Format("2006-01-02"))
	opsTypeInto(t, b, "combobox", "Who asked", "The organisation")
	opsTypeInto(t, b, "textbox", "Reason", "The technical services were merged into a partner's.")
	tabTo(t, b, "button", "Record the withdrawal")
	b.Enter()
	heading(t, b, "Newtown University")
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "Withdrawn") {
		t.Errorf("after the withdrawal the summary reads %q", got)
	}
	// The page gives the withdrawal as recorded, the day and why, as the service
	// holds them, and so does a reload.
	held := s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations/"+orgID, opsToken(t, s.sig, "signatory"), nil)).JSON(t)
	if held["withdrawal_reason"] != "The technical services were merged into a partner's." {
		t.Errorf("the signatory service holds the withdrawal's reason as %v", held["withdrawal_reason"])
	}
	for range 2 {
		got := b.Text(browsertest.CSS(".summary"))
		for _, want := range []string{"Withdrawn\n" + time.Now().In(opsLondon()).Format("Monday 2 January 2006"), "Reason for withdrawal\nThe technical services were merged into a partner's."} {
			if !strings.Contains(got, want) {
				t.Errorf("the withdrawn organisation's summary does not give %q: %q", want, got)
			}
		}
		b.Open(b.CurrentURL())
	}
}

// opsFillRound types a fund round into the form to open one: a budget of £1,000,
// awards of £100 to £1,000, projects through year.
func opsFillRound(t *testing.T, b *browsertest.Browser, name string, opens, closes time.Time, year int) {
	t.Helper()
	opsTypeInto(t, b, "textbox", "Name", name)
	opsTypeInto(t, b, "textbox", "Opens", opens.In(opsLondon()).Format("2006-01-02 15:04"))
	opsTypeInto(t, b, "textbox", "Closes", closes.In(opsLondon()).Format("2006-01-02 15:04"))
	opsTypeInto(t, b, "textbox", "Budget in pounds", "1000")
	opsTypeInto(t, b, "textbox", "Smallest award in pounds", "100")
	opsTypeInto(t, b, "textbox", "Largest award in pounds", "1000")
	opsTypeInto(t, b, "textbox", "Projects start on", fmt.Sprintf("%d-03-01", year))
	opsTypeInto(t, b, "textbox", "Projects end by", fmt.Sprintf("%d-12-31", year))
}

func opsLondon() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return l
}

// An ops person, by keyboard alone, runs a review round from assignment to
// released feedback: adds a reviewer to the pool, opens the round, adds the
// submission, assigns automatically, returns one review with a reason (one
// moderation), closes the round and releases the feedback, with JavaScript off.
// axe-core checks every page on the way.
func TestJourneyOpsReview(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startOpsStack(t, true)
	sub := opsSubmitted(t, s, "org-r")
	// One reviewer is in the pool already; the journey adds the second.
	registerReviewers(t, s.p, s.review, opsReviewToken(t, s, auth.Principal{Subject: "ops-setup", Role: auth.RoleOps}),
		map[string]any{"reviewer_id": "rev-b", "name": "Bo Brown", "email": "bo@other.ac.uk", "organisation_id": "org-other",
			"trained": true, "capacity": 2, "conflicts": []string{}})
	b := newBrowser(t)
	// This journey runs with scripts off: every console page works without them.
	b.DisableJavaScript()
	opsBrowserSignIn(t, b, s)

	tabTo(t, b, "link", "Review rounds")
	b.Enter()
	heading(t, b, "Review rounds")
	tabTo(t, b, "link", "Reviewer pool")
	b.Enter()
	heading(t, b, "Reviewer pool")
	tabTo(t, b, "link", "Add a reviewer")
	b.Enter()
	heading(t, b, "Add a reviewer")
	opsTypeInto(t, b, "textbox", "Reviewer identifier", "rev-a")
	opsTypeInto(t, b, "textbox", "Name", "Alice Jones")
	opsTypeInto(t, b, "textbox", "Email address", "alice@other.ac.uk")
	opsTypeInto(t, b, "textbox", "Organisation identifier", "org-other")
	tabTo(t, b, "checkbox", "Trained as a reviewer")
	b.Space()
	tabTo(t, b, "button", "Add to the pool")
	b.Enter()
	heading(t, b, "Reviewer pool")
	if got := b.Text(browsertest.CSS("tbody")); !strings.Contains(got, "Alice Jones") {
		t.Fatalf("the pool reads %q", got)
	}
	// Her capacity, changed (tabbing into a field selects what it holds).
	tabTo(t, b, "link", "Alice Jones")
	b.Enter()
	heading(t, b, "Change a reviewer")
	opsTypeInto(t, b, "textbox", "Most submissions a round", "3")
	tabTo(t, b, "button", "Save the reviewer")
	b.Enter()
	heading(t, b, "Reviewer pool")
	if got := strings.Join(strings.Fields(b.Text(browsertest.CSS("tbody"))), " "); !strings.Contains(got, "Alice Jones Of org-other Trained 3 ") {
		t.Fatalf("after the change the pool reads %q", got)
	}
	screenshot(b, "ops-review-pool")

	tabTo(t, b, "link", "Review rounds")
	b.Enter()
	tabTo(t, b, "link", "Open a review round")
	b.Enter()
	heading(t, b, "Open a review round")
	opsTypeInto(t, b, "textbox", "Name", "Review round 2027")
	opsTypeInto(t, b, "textbox", "Reviews due by", time.Now().AddDate(0, 1, 0).In(opsLondon()).Format("2006-01-02 15:04"))
	opsTypeInto(t, b, "textbox", "Reviewers per submission", "2")
	tabTo(t, b, "button", "Open the round")
	b.Enter()
	heading(t, b, "Review round 2027")
	roundPath := pagePath(t, b)
	round := strings.TrimPrefix(roundPath, "/ops/review/rounds/")
	testenv.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(b.Text(browsertest.CSS("main")), sub) {
			b.Open(s.p.url + roundPath)
			return fmt.Errorf("the submission is not offered yet")
		}
		return nil
	})
	tabTo(t, b, "checkbox", "org-r ("+sub+")") // the organisation (its name when the signatory service knows it), then the submission
	b.Space()
	tabTo(t, b, "button", "Add to the round")
	b.Enter()
	tabTo(t, b, "button", "Assign automatically")
	b.Enter()
	if got := b.Text(browsertest.CSS(".notice")); !strings.Contains(got, "2 assignments made") {
		t.Fatalf("the assignment report reads %q", got)
	}
	screenshot(b, "ops-review-round")

	opsReview(t, s, round, sub, "rev-a", true, "A good start.")
	opsReview(t, s, round, sub, "rev-b", true, "Promising.")
	b.Open(s.p.url + roundPath)
	tabTo(t, b, "link", "Self-assessment and action plan (cycle 1) of org-r")
	b.Enter()
	heading(t, b, "Reviews of org-r's submission")
	opsTypeInto(t, b, "textbox", "Reason for returning the review by Alice Jones", "Please give evidence for the scores.")
	tabTo(t, b, "button", "Return to the reviewer Alice Jones")
	b.Enter()
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "Returned Please give evidence for the scores.") {
		t.Fatalf("after the return the reviews read %q", got)
	}
	opsReview(t, s, round, sub, "rev-a", false, "A good start, with evidence.")

	b.Open(s.p.url + roundPath)
	tabTo(t, b, "button", "Close the round")
	b.Enter()
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "Closed") {
		t.Fatalf("after closing the round reads %q", got)
	}
	tabTo(t, b, "link", "Self-assessment and action plan (cycle 1) of org-r")
	b.Enter()
	opsTypeInto(t, b, "textbox", "Consolidated feedback", "Reviewers found a strong plan; publish its progress.")
	tabTo(t, b, "button", "Release the feedback")
	b.Enter()
	heading(t, b, "Review round 2027")
	if got := b.Text(browsertest.CSS("tbody")); !strings.Contains(got, "Released") {
		t.Fatalf("after the release the round reads %q", got)
	}
}
