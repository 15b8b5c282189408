package service

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// A lead, by keyboard alone, follows the sign-in link emailed to them, opens the
// submission editor, writes the self-assessment and the technician voice, meets the
// review service's refusal of the webpage beside its field, fixes it, adds an
// action, and submits; the obligation then shows as met. Another organisation's
// editor and contacts are "page not found"; the lead then renames their public
// point of contact. Scripts are off throughout, and axe-core checks every page.
func TestJourneyLeadSubmits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	announced := time.Now().AddDate(0, -13, 0) // the window opened a month ago
	mine := onboardOn(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk", announced)
	theirs := onboardOn(t, s.p, s.sig, "Othertown College", "lead-b@example.ac.uk", announced)
	b := newBrowser(t)
	// Every page is plain forms and links: the journey needs no script.
	b.DisableJavaScript()

	b.Open(s.p.url + "/signin")
	tabTo(t, b, "textbox", "Email address")
	b.Type("lead-a@example.ac.uk")
	tabTo(t, b, "button", "Email me a sign-in link")
	b.Enter()
	heading(t, b, "Check your email")
	b.Open(s.mailedLink(t, "lead-a@example.ac.uk", 0))
	// The page's button is the one "Sign in" Tab reaches: the header's link to the
	// email form came first, and pressing it led back there.
	if links := b.Boxes(`header a[href="/signin"]`); len(links) != 0 {
		t.Errorf("the sign-in link's page also has the header's Sign in link: %v", links)
	}
	tabTo(t, b, "button", "Sign in")
	b.Enter()
	heading(t, b, "Your pages")
	tabTo(t, b, "link", "University of Exampleton")
	b.Enter()
	heading(t, b, "Your organisation")
	// The organisation's page says where the feedback on a submission is found.
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "Your submission, with your earlier submissions and the feedback on them") {
		t.Errorf("the organisation's page does not say where feedback is: %q", got)
	}
	tabTo(t, b, "link", "Your submission")
	b.Enter()
	heading(t, b, "Your submission")
	// What is missing is the review service's word about a saved draft.
	if got := b.Text(browsertest.CSS(".unsaved")); !strings.Contains(got, "Save your draft to see what is still missing") {
		t.Fatalf("the empty editor reads %q", got)
	}

	// First the technician voice and the webpage.
	tabTo(t, b, "textbox", "How were technicians consulted on the plan?")
	b.Type("A survey of every technician and three focus groups.")
	tabTo(t, b, "textbox", "How many technicians took part?")
	b.Type("142")
	tabTo(t, b, "textbox", "Public webpage where the plan is published")
	b.Type("www.exampleton.ac.uk/technician-commitment")
	tabTo(t, b, "button", "Save draft")
	b.Enter()

	// The review service refuses an address without http(s); the page says so
	// beside the field, the summary with the focus links to it, and everything typed is kept.
	heading(t, b, "Your submission")
	if got := b.Text(browsertest.CSS(".error-summary")); !strings.Contains(got, "Webpage") {
		t.Fatalf("the error summary reads %q", got)
	}
	errorSummaryHasFocus(t, b, "field-webpage", "Public webpage where the plan is published")
	describedByError(t, b, "field-webpage")
	if got := b.Value(browsertest.Label("How many technicians took part?")); got != "142" {
		t.Errorf("the count typed is kept as %q", got)
	}
	screenshot(b, "submission-error")
	// Tabbing back into the field selects what was typed, so the address typed next replaces it.
	b.ShiftTab()
	tabTo(t, b, "textbox", "Public webpage where the plan is published")
	b.Type("https://www.exampleton.ac.uk/technician-commitment")
	tabTo(t, b, "button", "Save draft")
	b.Enter()
	heading(t, b, "Your submission")
	if got := b.Text(browsertest.CSS(".notice")); got != "Your draft was saved." {
		t.Fatalf("after saving the notice reads %q", got)
	}
	if got := b.Text(browsertest.CSS(".missing")); !strings.Contains(got, "Write the narrative for Visibility") || strings.Contains(got, "webpage") {
		t.Errorf("after saving the missing list reads %q", got)
	}

	// Then the self-assessment, theme by theme.
	for _, th := range []struct{ name, rating string }{
		{"Visibility", "3"}, {"Recognition", "2"}, {"Career development", "2"}, {"Sustainability", "1"},
	} {
		tabTo(t, b, "textbox", th.name+": where you stand")
		b.Type("Where we stand on " + strings.ToLower(th.name) + ", as our technicians told us.")
		tabTo(t, b, "combobox", th.name+": rating")
		b.Type(th.rating) // a closed select takes the option typed
	}
	tabTo(t, b, "button", "Save draft")
	b.Enter()
	heading(t, b, "Your submission")
	if got := b.Value(browsertest.Label("Sustainability: rating")); got != "1" {
		t.Errorf("the rating saved reads %q", got)
	}
	if got := b.Text(browsertest.CSS(".missing")); !strings.Contains(got, "Add at least one action") || strings.Contains(got, "narrative") {
		t.Errorf("after saving the self-assessment the missing list reads %q", got)
	}

	// What is typed and not yet saved is kept when the lead goes to add an action
	// (Add an action once was a link away from the editor, which dropped it).
	tabTo(t, b, "textbox", "Public webpage where the plan is published")
	b.Type("https://www.exampleton.ac.uk/technician-commitment/plan")
	tabTo(t, b, "button", "Add an action")
	b.Enter()
	heading(t, b, "Add an action")
	tabTo(t, b, "combobox", "Theme")
	b.Type("Career")
	tabTo(t, b, "textbox", "Action")
	b.Type("Fund ten registrations with the Science Council")
	tabTo(t, b, "textbox", "Owner")
	b.Type("Head of Technical Services")
	tabTo(t, b, "textbox", "Success measure")
	b.Type("Ten technicians registered")
	tabTo(t, b, "textbox", "Day")
	b.Type("31")
	tabTo(t, b, "textbox", "Month")
	b.Type("7")
	tabTo(t, b, "textbox", "Year")
	b.Type("2027")
	tabTo(t, b, "button", "Save action")
	b.Enter()
	heading(t, b, "Your submission")
	if got := b.Text(browsertest.CSS("#action-plan + .table-wrap tbody")); !strings.Contains(got, "Fund ten registrations") || !strings.Contains(got, "Career development") ||
		!strings.Contains(got, "31 July 2027") {
		t.Fatalf("the action plan reads %q", got)
	}
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "Nothing is missing") {
		t.Fatalf("the complete draft reads %q", got)
	}
	screenshot(b, "submission")
	if got := b.Value(browsertest.Label("Public webpage where the plan is published")); got != "https://www.exampleton.ac.uk/technician-commitment/plan" {
		t.Errorf("the webpage typed before adding an action reads %q after it", got)
	}

	// Submit sends what is on the screen: a last change, not saved, is submitted
	// (Submit once sent the draft as last saved, and what was typed was lost).
	tabTo(t, b, "textbox", "Public webpage where the plan is published")
	b.Type("https://www.exampleton.ac.uk/technician-commitment/plan-2027")
	tabTo(t, b, "button", "Submit")
	b.Enter()
	heading(t, b, "Your submission")
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "Submission received") {
		t.Fatalf("after submitting the page says %q", got)
	}
	received := regexp.MustCompile(`received=([^&]+)`).FindStringSubmatch(b.CurrentURL())
	if received == nil {
		t.Fatalf("after submitting the page is %s", b.CurrentURL())
	}
	if got := storedSubmission(t, s, mine, received[1]); fmt.Sprint(got["status"]) != "submitted" ||
		fmt.Sprint(got["content"].(map[string]any)["webpage"]) != "https://www.exampleton.ac.uk/technician-commitment/plan-2027" {
		t.Errorf("the submission received is %v, want the webpage typed just before Submit", got["content"])
	}
	// What was sent can be read again (it could not, until the feedback on it).
	receivedPage := b.CurrentURL()
	tabTo(t, b, "link", "Read what you sent")
	b.Enter()
	heading(t, b, "Your submission as sent")
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "plan-2027") || !strings.Contains(got, "Fund ten registrations") ||
		!strings.Contains(got, "Where we stand on sustainability") || !strings.Contains(got, "1 out of 4") {
		t.Errorf("the submission as sent reads %q", got)
	}
	b.Open(receivedPage)
	heading(t, b, "Your submission")
	tabTo(t, b, "link", "See your obligations")
	b.Enter()
	heading(t, b, "Your organisation")
	// The signatory service hears of the receipt through the review service's events.
	met := regexp.MustCompile(`^Met on \w+day \d{1,2} \w+ \d{4}$`)
	testenv.Eventually(t, 15*time.Second, func() error {
		if got := b.Text(browsertest.CSS("tbody tr:first-child td .tag")); !met.MatchString(got) {
			b.Open(b.CurrentURL())
			return fmt.Errorf("the obligation reads %q", got)
		}
		return nil
	})

	for _, path := range []string{"/obligations/" + theirs + "/submission", "/obligations/" + theirs + "/submission/items/new", "/obligations/" + theirs + "/contacts"} {
		b.Open(s.p.url + path)
		heading(t, b, "Page not found")
		if strings.Contains(b.Text(browsertest.CSS("body")), "Othertown") {
			t.Errorf("%s names the other organisation", path)
		}
	}
	// The lead renames their public point of contact, from their organisation's page.
	b.Open(s.p.url + "/obligations/" + mine)
	tabTo(t, b, "link", "Your contacts")
	b.Enter()
	heading(t, b, "Your contacts")
	tabTo(t, b, "textbox", "Name of the Public point of contact")
	b.Type("Technician Development Office") // tabbing into a field selects what it holds
	tabTo(t, b, "button", "Save contacts")
	b.Enter()
	heading(t, b, "Your contacts")
	if got := b.Text(browsertest.CSS(".notice")); got != "Your contacts were saved." {
		t.Errorf("after saving the contacts the notice reads %q", got)
	}
	if got := b.Value(browsertest.CSS("#field-point_of_contact-name")); got != "Technician Development Office" {
		t.Errorf("the point of contact reads %q", got)
	}

	// Last, the lead hands the role over by keyboard: the confirmation step's
	// buttons are reached and pressed like the form's, and the handover ends here.
	tabTo(t, b, "textbox", "Name of the Nominated lead")
	b.Type("Chris Lee")
	tabTo(t, b, "textbox", "Email address of the Nominated lead")
	b.Type("c.lee@exampleton.ac.uk")
	tabTo(t, b, "button", "Save contacts")
	b.Enter()
	heading(t, b, "Hand over the nominated lead")
	tabTo(t, b, "button", "Change the contacts")
	b.Enter()
	heading(t, b, "Your contacts")
	if got := b.Value(browsertest.CSS("#field-nominated_lead-email")); got != "c.lee@exampleton.ac.uk" {
		t.Errorf("back from the confirmation the new lead's address reads %q", got)
	}
	tabTo(t, b, "button", "Save contacts")
	b.Enter()
	heading(t, b, "Hand over the nominated lead")
	tabTo(t, b, "button", "Hand over to Chris Lee")
	b.Enter()
	heading(t, b, "Your contacts were saved")
}
