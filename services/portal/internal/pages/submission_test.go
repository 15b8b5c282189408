package pages

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/templates"

	reviewapi "github.com/itss/techcommit/services/review/api"
)

// The review service names a theme by its place in the self-assessment sent (only
// the rated themes are sent), an action by its place in the plan: the messages land
// on the fields the person sees.
func TestServiceFieldErrorsLandOnTheFields(t *testing.T) {
	t.Parallel()
	content := reviewapi.SubmissionContent{SelfAssessment: []reviewapi.ThemeAssessment{
		{Theme: "recognition", Narrative: given("x"), Rating: given(2)}, {Theme: "sustainability", Narrative: given("y")},
	}}
	p := &clients.Problem{Status: 400, Detail: "4 fields are invalid", Errors: []clients.FieldError{
		{Field: "self_assessment.1.narrative", Message: "must not be blank"},
		{Field: "self_assessment.0.rating", Message: "must be 1 to 4"},
		{Field: "technician_voice.participants", Message: "must not be negative"},
		{Field: "webpage", Message: "must be an http or https address"},
		{Field: "action_plan.2.owner", Message: "is required"},
		{Field: "self_assessment.7.narrative", Message: "is required"},
		{Field: "self_assessment.visibility.rating", Message: "give a rating from 1 to 4 for Visibility"},
		{Field: "body", Message: "the body is not valid JSON"},
	}}
	want := []templates.FieldError{
		{Field: "narrative-sustainability", Message: "Sustainability narrative: must not be blank"},
		{Field: "rating-recognition", Message: "Recognition rating: must be 1 to 4"},
		{Field: "participants", Message: "Number of technicians who took part: must not be negative"},
		{Field: "webpage", Message: "Webpage: must be an http or https address"},
		{Field: "action_plan", Message: "Action 3: is required"},
		{Message: "is required"},
		{Field: "rating-visibility", Message: "Visibility rating: give a rating from 1 to 4 for Visibility"},
		{Message: "the body is not valid JSON"},
	}
	if diff := cmp.Diff(want, mainFieldErrors(p, content)); diff != "" {
		t.Errorf("main form errors (-want +got):\n%s", diff)
	}
	one := &clients.Problem{Status: 400, Field: "webpage", Detail: "give the public page where the plan is published"}
	if got := mainFieldErrors(one, content); !cmp.Equal(got, []templates.FieldError{{Field: "webpage", Message: "Webpage: give the public page where the plan is published"}}) {
		t.Errorf("a one-field problem: %v", got)
	}

	items := &clients.Problem{Status: 400, Errors: []clients.FieldError{
		{Field: "action_plan.3.owner", Message: "must not start or end with white space"},
		{Field: "action_plan.0.owner", Message: "another action's"},
	}}
	if diff := cmp.Diff([]templates.FieldError{{Field: "owner", Message: "Owner: must not start or end with white space"}, {Message: "another action's"}},
		itemFieldErrors(items, 3)); diff != "" {
		t.Errorf("item errors (-want +got):\n%s", diff)
	}
}

// What the review service says a draft is missing lands on the editor's fields, in
// the service's words.
func TestWhatTheServiceSaysIsMissingLandsOnTheFields(t *testing.T) {
	t.Parallel()
	s := &reviewapi.Submission{Content: reviewapi.SubmissionContent{SelfAssessment: []reviewapi.ThemeAssessment{{Theme: "recognition", Narrative: given("x")}}},
		Missing: []reviewapi.MissingField{
			{Field: "self_assessment.recognition.rating", Message: "give a rating from 1 to 4 for Recognition"},
			{Field: "action_plan", Message: "add at least one action to the action plan"},
			{Field: "technician_voice.how_consulted", Message: "say how technicians were consulted"},
		}}
	want := []templates.FieldError{
		{Field: "rating-recognition", Message: "Give a rating from 1 to 4 for Recognition"},
		{Field: "action_plan", Message: "Add at least one action to the action plan"},
		{Field: "how_consulted", Message: "Say how technicians were consulted"},
	}
	if diff := cmp.Diff(want, missingOf(s)); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	if got := missingOf(&reviewapi.Submission{Missing: []reviewapi.MissingField{}}); len(got) != 0 {
		t.Errorf("a complete draft misses %v", got)
	}
}
