package submission_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/review/internal/domain/submission"
)

func complete() events.SubmissionContent {
	c := events.SubmissionContent{
		ActionPlan:      []events.ActionItem{{Theme: "recognition", Action: "Award", Owner: "HR", SuccessMeasure: "Yearly", TargetDate: "2027-06-30"}},
		TechnicianVoice: events.TechnicianVoice{HowConsulted: "Survey", Participants: 40},
		Webpage:         "https://example.ac.uk/tc",
	}
	for _, t := range submission.Themes {
		c.SelfAssessment = append(c.SelfAssessment, events.ThemeAssessment{Theme: t, Narrative: "Where we are", Rating: 2})
	}
	return c
}

// TestMissingNamesEverythingStillNeeded: Missing lists every gap at once, naming a
// theme by its name (it may not be in the list at all yet), and Complete refuses by it.
func TestMissingNamesEverythingStillNeeded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		kind   string
		change func(*events.SubmissionContent)
		fields []string
	}{
		{"complete", events.ObligationSelfAssessmentAndActionPlan, func(*events.SubmissionContent) {}, nil},
		{"a theme missing", events.ObligationSelfAssessmentAndActionPlan, func(c *events.SubmissionContent) { c.SelfAssessment = c.SelfAssessment[1:] },
			[]string{"self_assessment.visibility.narrative", "self_assessment.visibility.rating"}},
		{"a supporter needs no self-assessment", events.ObligationActionPlan, func(c *events.SubmissionContent) { c.SelfAssessment = nil }, nil},
		{"a narrative with no rating", events.ObligationSelfAssessmentAndActionPlan, func(c *events.SubmissionContent) { c.SelfAssessment[2].Rating = 0 },
			[]string{"self_assessment.career_development.rating"}},
		{"no narrative", events.ObligationSelfAssessmentAndActionPlan, func(c *events.SubmissionContent) { c.SelfAssessment[2].Narrative = " " },
			[]string{"self_assessment.career_development.narrative"}},
		{"no action", events.ObligationActionPlan, func(c *events.SubmissionContent) { c.ActionPlan = nil }, []string{"action_plan"}},
		{"an item without owner", events.ObligationActionPlan, func(c *events.SubmissionContent) { c.ActionPlan[0].Owner = "" }, []string{"action_plan.0.owner"}},
		{"nobody consulted", events.ObligationActionPlan, func(c *events.SubmissionContent) { c.TechnicianVoice = events.TechnicianVoice{} },
			[]string{"technician_voice.how_consulted", "technician_voice.participants"}},
		{"no webpage", events.ObligationActionPlan, func(c *events.SubmissionContent) { c.Webpage = "" }, []string{"webpage"}},
		{"a new draft", events.ObligationSelfAssessmentAndActionPlan, func(c *events.SubmissionContent) { *c = events.SubmissionContent{} }, []string{
			"self_assessment.visibility.narrative", "self_assessment.visibility.rating", "self_assessment.recognition.narrative", "self_assessment.recognition.rating",
			"self_assessment.career_development.narrative", "self_assessment.career_development.rating", "self_assessment.sustainability.narrative",
			"self_assessment.sustainability.rating", "action_plan", "technician_voice.how_consulted", "technician_voice.participants", "webpage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := complete()
			tt.change(&c)
			var got []string
			for _, g := range submission.Missing(tt.kind, c) {
				if g.Message == "" {
					t.Errorf("%s is missing with no word of what to give", g.Field)
				}
				got = append(got, g.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Errorf("missing %q, want %q", got, tt.fields)
			}
			err := submission.Complete(tt.kind, c)
			if len(tt.fields) == 0 {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			e, _ := apperr.As(err)
			if e == nil || e.Code != apperr.Conflict || len(e.Fields) != len(tt.fields) || e.Field != tt.fields[0] {
				t.Errorf("error %#v, want a conflict naming %q", err, tt.fields)
			}
		})
	}
}

func TestCompleteRefusesWhatNoDraftMayHold(t *testing.T) {
	t.Parallel()
	c := complete()
	c.Webpage = "javascript:alert(1)"
	if err := submission.Complete(events.ObligationActionPlan, c); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("not a web address: %v, want invalid", err)
	}
}

// A theme given twice is refused naming the second: kept, it left the list no room for
// the theme still missing, which could then never be added.
func TestAThemeGivenTwiceIsRefused(t *testing.T) {
	t.Parallel()
	c := complete()
	c.SelfAssessment[1] = c.SelfAssessment[0]
	err := submission.CheckShape(c)
	if e, ok := apperr.As(err); !ok || e.Field != "self_assessment.1.theme" || !strings.Contains(e.Message, "give each theme once") {
		t.Errorf("a theme given twice: %v, want refused naming self_assessment.1.theme", err)
	}
}

func TestDraftThenSubmitOnce(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
	var h []events.Envelope
	add := func(ps []events.Payload, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			data, _ := json.Marshal(p)
			h = append(h, events.Envelope{ID: p.EventType(), Type: p.EventType(), Version: len(h) + 1, Time: now, Data: data})
		}
	}
	load := func() *submission.Submission {
		s, err := submission.Rebuild("s1", h)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := load().Draft("a", "a-c1", "something_else", 1, complete()); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("draft for an unknown kind of obligation: %v", err)
	}
	incomplete := complete()
	incomplete.Webpage = ""
	add(load().Draft("a", "a-c1", events.ObligationSelfAssessmentAndActionPlan, 1, incomplete))
	if got := load().Missing(); len(got) != 1 || got[0].Field != "webpage" {
		t.Errorf("the draft misses %v, want the webpage", got)
	}
	if _, err := load().Submit(now); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("submitting an incomplete draft: %v, want a conflict", err)
	}
	add(load().Update(complete()))
	p, err := load().Submit(now)
	add(p, err)
	got := p[0].(events.SubmissionReceivedV1)
	if got.ObligationID != "a-c1" || got.Cycle != 1 || got.OrganisationID != "a" || !got.ReceivedAt.Equal(now) {
		t.Errorf("receipt %+v", got)
	}
	if got := load().Missing(); got != nil {
		t.Errorf("a submitted submission misses %v, want nothing", got)
	}
	if _, err := load().Update(complete()); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("update after submitting: %v, want a conflict", err)
	}
	if _, err := load().Submit(now); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("second submit: %v, want a conflict", err)
	}
}

// TestWeakestThemesAreTheLowestRated: the themes rated lowest, ties included, are the
// ones a reviewer's expertise should meet; an action plan on its own rates none.
func TestWeakestThemesAreTheLowestRated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		ratings map[string]int
		want    []string
	}{
		{"one lowest", map[string]int{"visibility": 3, "recognition": 1, "career_development": 2, "sustainability": 4}, []string{"recognition"}},
		{"a tie", map[string]int{"visibility": 2, "recognition": 3, "career_development": 4, "sustainability": 2}, []string{"visibility", "sustainability"}},
		{"unrated themes do not count", map[string]int{"visibility": 0, "recognition": 3}, []string{"recognition"}},
		{"nothing rated", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := complete()
			c.SelfAssessment = nil
			for _, th := range submission.Themes {
				if r, ok := tc.ratings[th]; ok {
					c.SelfAssessment = append(c.SelfAssessment, events.ThemeAssessment{Theme: th, Narrative: "Where we are", Rating: r})
				}
			}
			data, err := json.Marshal(events.SubmissionDraftedV1{SubmissionID: "s1", OrganisationID: "a", ObligationID: "a-c1", Kind: events.ObligationSelfAssessmentAndActionPlan, Content: c})
			if err != nil {
				t.Fatal(err)
			}
			s, err := submission.Rebuild("s1", []events.Envelope{{ID: "e1", Type: events.SubmissionDraftedV1{}.EventType(), Version: 1, Time: time.Now(), Data: data}})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.WeakestThemes(); !slices.Equal(got, tc.want) {
				t.Errorf("weakest %v, want %v", got, tc.want)
			}
		})
	}
}

// TestASupportersActionPlanCarriesNoSelfAssessment: a supporter owes an action plan
// only (DESIGN.md), so a self-assessment sent with one is refused naming
// self_assessment, on the draft and on a change to it, rather than kept, shown to its
// reviewers and read for their expertise as if the supporter had owed it.
func TestASupportersActionPlanCarriesNoSelfAssessment(t *testing.T) {
	t.Parallel()
	refused := func(what string, err error) {
		t.Helper()
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Field != "self_assessment" || !strings.Contains(e.Message, "action plan only") {
			t.Errorf("%s: %v, want 400 naming self_assessment, saying an action plan only is owed", what, err)
		}
	}
	s, err := submission.Rebuild("s1", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Draft("sup", "sup-c1", events.ObligationActionPlan, 1, complete())
	refused("a supporter's draft with a self-assessment", err)

	plan := complete()
	plan.SelfAssessment = nil
	ps, err := s.Draft("sup", "sup-c1", events.ObligationActionPlan, 1, plan)
	if err != nil {
		t.Fatalf("a supporter's action plan: %v", err)
	}
	data, _ := json.Marshal(ps[0])
	s, err = submission.Rebuild("s1", []events.Envelope{{ID: "e1", Type: ps[0].EventType(), Version: 1, Time: time.Now(), Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Update(complete())
	refused("a supporter's draft changed to hold a self-assessment", err)
	if _, err := s.Update(plan); err != nil {
		t.Errorf("a supporter's draft changed without one: %v", err)
	}
}
