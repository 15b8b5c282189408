package opsform

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestEachFormTakesWhatItsOperationTakes: a console form refuses a text longer than
// its Max beside the field, before the service is asked. A Max below the service's
// maxLength refuses what the API takes (the decline's feedback: 5,000 characters on
// the form against 8,000 in the fund's API), and one above it, or a form's limit the
// API does not have, leaves the refusal to the service. Each form's Max is the
// maxLength of the field its operation's request body holds.
func TestEachFormTakesWhatItsOperationTakes(t *testing.T) {
	t.Parallel()
	docs := map[string]*openapi3.T{}
	doc := func(service string) *openapi3.T {
		if d, ok := docs[service]; ok {
			return d
		}
		l := openapi3.NewLoader()
		d, err := l.LoadFromFile(filepath.Join("..", "..", "..", "..", service, "api", "openapi.yaml"))
		if err != nil {
			t.Fatalf("read %s's OpenAPI document: %v", service, err)
		}
		if err := d.Validate(context.Background()); err != nil {
			t.Fatalf("%s's OpenAPI document: %v", service, err)
		}
		docs[service] = d
		return d
	}
	for _, tc := range []struct {
		form                  string
		specs                 Specs
		service, method, path string
	}{
		{"Enquiry", Enquiry, "signatory", "POST", "/v1/organisations"},
		{"Meeting", Meeting, "signatory", "POST", "/v1/organisations/{id}/meeting"},
		{"SignedForm", SignedForm, "signatory", "POST", "/v1/organisations/{id}/form"},
		{"Contacts", Contacts, "signatory", "PUT", "/v1/organisations/{id}/contacts"},
		{"Announcement", Announcement, "signatory", "POST", "/v1/organisations/{id}/announcement"},
		{"Withdrawal", Withdrawal, "signatory", "POST", "/v1/organisations/{id}/withdrawal"},
		{"OpenFundRound", OpenFundRound, "fund", "POST", "/v1/rounds"},
		{"FundRound", FundRound, "fund", "PUT", "/v1/rounds/{id}"},
		{"CloseFundRound", CloseFundRound, "fund", "POST", "/v1/rounds/{id}/closure"},
		{"Award", Award, "fund", "POST", "/v1/applications/{id}/award"},
		{"Decline", Decline, "fund", "POST", "/v1/applications/{id}/decline"},
		{"ReviewRound", ReviewRound, "review", "POST", "/v1/review-rounds"},
		{"Reviewer", Reviewer, "review", "POST", "/v1/reviewers"},
		{"Feedback", Feedback, "review", "POST", "/v1/review-rounds/{roundId}/submissions/{submissionId}/feedback"},
		{"CloseReviewRound", CloseReviewRound, "review", "POST", "/v1/review-rounds/{roundId}/closure"},
		{"Moderation", Moderation, "review", "POST", "/v1/review-rounds/{roundId}/submissions/{submissionId}/reviews/{reviewerId}/return"},
		{"UpcomingFundRound", UpcomingFundRound, "fund", "PUT", "/v1/rounds/{id}"},
	} {
		item := doc(tc.service).Paths.Find(tc.path)
		if item == nil || item.GetOperation(tc.method) == nil {
			t.Errorf("%s: %s has no %s %s", tc.form, tc.service, tc.method, tc.path)
			continue
		}
		op := item.GetOperation(tc.method)
		if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
			t.Errorf("%s: %s %s takes no JSON body", tc.form, tc.method, tc.path)
			continue
		}
		body := op.RequestBody.Value.Content.Get("application/json").Schema.Value
		for _, s := range tc.specs {
			if s.Type != Text && s.Type != Area || s.Pattern != nil && s.Max == 0 {
				continue // a pattern's length is its own (a country's two letters)
			}
			field := schemaAt(body, s.api())
			if field == nil {
				t.Errorf("%s: the field %s (%s) is not in the body of %s %s", tc.form, s.Name, s.api(), tc.method, tc.path)
				continue
			}
			want := 0
			if field.MaxLength != nil {
				want = int(*field.MaxLength)
			}
			if s.Max != want {
				t.Errorf("%s: %s takes at most %d characters on the form, %d in %s %s", tc.form, s.Name, s.Max, want, tc.method, tc.path)
			}
		}
	}
}

// schemaAt is the schema of the dotted path in s, through objects' properties and
// allOf, or nil.
func schemaAt(s *openapi3.Schema, path string) *openapi3.Schema {
	name, rest, deeper := strings.Cut(path, ".")
	var found *openapi3.Schema
	if p := s.Properties[name]; p != nil {
		found = p.Value
	}
	for _, a := range s.AllOf {
		if found == nil {
			if p := a.Value.Properties[name]; p != nil {
				found = p.Value
			}
		}
	}
	if found == nil || !deeper {
		return found
	}
	return schemaAt(found, rest)
}
