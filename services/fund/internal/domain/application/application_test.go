package application_test

import (
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
)

var testRound = round.Round{
	ID: "r1", Name: "TCF", Opens: time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC), Closes: time.Date(2027, 3, 31, 16, 0, 0, 0, time.UTC),
	BudgetPence: 500000, MinAwardPence: 10000, MaxAwardPence: 100000,
	ProjectStart: civil.New(2027, 5, 1), ProjectEnd: civil.New(2027, 12, 31), Themes: []string{"visibility", "recognition"},
}

func valid() application.Content {
	return application.Content{
		Title: "Exchange", Summary: "Workshops", Themes: []string{"visibility"}, RequestedAmountPence: 50000,
		Partners:    []application.Partner{{Name: "College", OrganisationID: "org2"}},
		Endorsement: application.Person{Name: "Sam", Email: "sam@example.ac.uk"},
		BudgetLines: []application.BudgetLine{{Description: "Kit", AmountPence: 30000}, {Description: "Travel", AmountPence: 20000}},
		Milestones:  []application.Milestone{{Description: "Start", Due: civil.New(2027, 5, 1)}, {Description: "End", Due: civil.New(2027, 12, 31)}},
	}
}

func TestValidateNamesTheFieldThatBreaksARule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(*application.Content)
		field string
	}{
		{"valid", func(*application.Content) {}, ""},
		{"below minimum", func(c *application.Content) { c.RequestedAmountPence = 9999 }, "requested_amount_pence"},
		{"above maximum", func(c *application.Content) { c.RequestedAmountPence = 100001 }, "requested_amount_pence"},
		{"lines do not add up", func(c *application.Content) { c.BudgetLines[1].AmountPence = 19999 }, "budget_lines"},
		{"negative line", func(c *application.Content) { c.BudgetLines[1].AmountPence = -1 }, "budget_lines.1.amount_pence"},
		{"milestone before window", func(c *application.Content) { c.Milestones[0].Due = civil.New(2027, 4, 30) }, "milestones.0.due"},
		{"milestone after window", func(c *application.Content) { c.Milestones[1].Due = civil.New(2028, 1, 1) }, "milestones.1.due"},
		{"partner is the lead", func(c *application.Content) { c.Partners[0].OrganisationID = "org1" }, "partners.0.organisation_id"},
		{"no partner", func(c *application.Content) { c.Partners = nil }, "partners"},
		{"theme out of scope", func(c *application.Content) { c.Themes = []string{"sustainability"} }, "themes.0"},
		{"endorsement with display name", func(c *application.Content) { c.Endorsement.Email = "Sam <sam@example.ac.uk>" }, "endorsement.email"},
		{"blank title", func(c *application.Content) { c.Title = "  " }, "title"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tt.edit(&c)
			err := application.Validate(testRound, "org1", c)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("valid content refused: %v", err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Invalid || e.Field != tt.field {
				t.Fatalf("err = %v, want Invalid naming %s", err, tt.field)
			}
		})
	}
}

func TestSubmissionFollowsTheRoundsClock(t *testing.T) {
	t.Parallel()
	a, _ := application.Rebuild("a1", nil)
	el := application.Eligibility{ActiveSignatory: true}
	if _, err := a.Draft(testRound, "org1", application.Person{Name: "x"}, valid(), "h", application.Eligibility{}); !apperr.Is(err, apperr.Forbidden) {
		t.Errorf("a draft for a non-signatory: %v, want Forbidden", err)
	}
	excl := testRound
	excl.ExcludePreviouslyFunded = true
	if _, err := a.Draft(excl, "org1", application.Person{Name: "x"}, valid(), "h", application.Eligibility{ActiveSignatory: true, FundedLastRound: true}); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("a draft from last round's grantee: %v, want Conflict", err)
	}
	if _, err := a.Submit(testRound, el, testRound.Opens); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("submitting what does not exist: %v, want NotFound", err)
	}
	for _, at := range []time.Time{testRound.Opens.Add(-time.Second), testRound.Closes, testRound.Closes.Add(time.Hour)} {
		if got := testRound.StatusAt(at); got == round.OpenNow {
			t.Errorf("round open at %s", at)
		}
	}
	if got := testRound.StatusAt(testRound.Closes.Add(-time.Nanosecond)); got != round.OpenNow {
		t.Errorf("round %s a moment before it closes", got)
	}
}
