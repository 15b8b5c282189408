package opsform

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/services/portal/internal/templates"
)

// Every minute around both clock changes, shown on a form and read back as it was
// shown, is the same instant: the form adds the zone just where the clock shows a
// time twice.
func TestMomentTextReadsBackAsTheSameInstant(t *testing.T) {
	t.Parallel()
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	for _, change := range []time.Time{time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC), time.Date(2027, 10, 31, 1, 0, 0, 0, time.UTC)} {
		for at := change.Add(-3 * time.Hour); at.Before(change.Add(3 * time.Hour)); at = at.Add(time.Minute) {
			text := MomentText(at, london)
			_, body, errs := ReviewRound.Parse(url.Values{"name": {"R"}, "review_deadline": {text}}, london)
			if len(errs) > 0 || body["review_deadline"] != at.Format(time.RFC3339) {
				t.Fatalf("%s is shown as %q, read back as %v (%v)", at, text, body["review_deadline"], errs)
			}
		}
	}
	for at, want := range map[time.Time]string{
		time.Date(2027, 10, 31, 0, 30, 0, 0, time.UTC): "2027-10-31 01:30 BST",
		time.Date(2027, 10, 31, 1, 30, 0, 0, time.UTC): "2027-10-31 01:30 GMT",
		time.Date(2027, 7, 1, 8, 0, 0, 0, time.UTC):    "2027-07-01 09:00",
	} {
		if got := MomentText(at, london); got != want {
			t.Errorf("%s is shown as %q, want %q", at, got, want)
		}
	}
}

// A service's message about a field names the field, so that the error summary,
// which lists the messages apart from their fields, says what each is about.
func TestNamedSaysWhichField(t *testing.T) {
	t.Parallel()
	got := ReviewRound.Named([]templates.FieldError{
		{Field: "review_deadline", Message: "Must be in the future"},
		{Field: "name", Message: "Is required"},
		{Field: "reviewers_per_submission", Message: "Must be 1 to 5"},
		{Field: "name", Message: "Name must be 200 characters or fewer"},
		{Message: "Round r1 exists"},
	})
	want := []templates.FieldError{
		{Field: "review_deadline", Message: "Reviews due by must be in the future"},
		{Field: "name", Message: "Name is required"},
		{Field: "reviewers_per_submission", Message: "Reviewers per submission must be 1 to 5"},
		{Field: "name", Message: "Name must be 200 characters or fewer"},
		{Message: "Round r1 exists"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
}

// A service's message that starts with a day ("Monday 30 November 2026 is before the
// enquiry arrived ...") keeps the day's capital when the field's label comes before
// it: "Meeting held on monday 30 November 2026" it read.
func TestNamedKeepsADaysCapital(t *testing.T) {
	t.Parallel()
	got := Meeting.Named([]templates.FieldError{
		{Field: "held_on", Message: "Monday 30 November 2026 is before the enquiry arrived on Tuesday 1 December 2026"},
		{Field: "held_on", Message: "March 2027 is too late"},
	})
	want := []templates.FieldError{
		{Field: "held_on", Message: "Meeting held on Monday 30 November 2026 is before the enquiry arrived on Tuesday 1 December 2026"},
		{Field: "held_on", Message: "Meeting held on March 2027 is too late"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
}

// A service's message that is a sentence of its own, with its own subject ("the
// round's awards hold £450 of its budget: it may be lowered to no less than that"),
// is shown as that sentence: the label before it made "Budget in pounds the round's
// awards hold £450 of its budget" of it. A message that says what the value must be
// still has the label for its subject.
func TestNamedLeavesASentenceWithItsOwnSubject(t *testing.T) {
	t.Parallel()
	got := FundRoundBudget.Named([]templates.FieldError{
		{Field: "budget", Message: "the round's awards hold £450 of its budget: it may be lowered to no less than that"},
		{Field: "budget", Message: "This round has closed"},
		{Field: "budget", Message: "its awards hold more"},
		{Field: "budget", Message: "There is no budget left"},
		{Field: "budget", Message: "must be a whole number of pounds"},
		{Field: "budget", Message: "Thereafter is not a number"},
	})
	want := []templates.FieldError{
		{Field: "budget", Message: "The round's awards hold £450 of its budget: it may be lowered to no less than that"},
		{Field: "budget", Message: "This round has closed"},
		{Field: "budget", Message: "Its awards hold more"},
		{Field: "budget", Message: "There is no budget left"},
		{Field: "budget", Message: "Budget in pounds must be a whole number of pounds"},
		{Field: "budget", Message: "Budget in pounds thereafter is not a number"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
}
