package api_test

import (
	"testing"

	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/notify/api"
)

// Every string the contract names says what it may hold: people's text is format
// line or text with a maxLength, addresses are emails, the rest enums or anchored
// patterns.
func TestEveryStringInTheContractIsConstrained(t *testing.T) {
	t.Parallel()
	loose, err := httpserver.UnconstrainedStrings(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, where := range loose {
		t.Errorf("unconstrained string: %s", where)
	}
}

// TestEveryProblemAnswerIsDeclared keeps the document whole for clients generated from
// it: every operation declares, by number, each problem the platform can answer it
// with (400 always, 401/403 when secured, 404 with a path parameter, 409 on a write to
// an existing object, 413/415 with a body, 422 with an Idempotency-Key, 429, 500, 503),
// each as the one Problem schema, with Retry-After on 429 and 503.
func TestEveryProblemAnswerIsDeclared(t *testing.T) {
	t.Parallel()
	missing, err := httpserver.UndeclaredProblems(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range missing {
		t.Error(m)
	}
}

// TestEveryPatternIsSaidInWords: a field held to a pattern is refused with words
// that say what it takes (its description, its title, or the pattern described),
// never "is not in the form this field takes".
func TestEveryPatternIsSaidInWords(t *testing.T) {
	t.Parallel()
	unworded, err := httpserver.UnwordedPatterns(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, where := range unworded {
		t.Errorf("%s has a pattern a refusal cannot put in words: give it a short description", where)
	}
}
