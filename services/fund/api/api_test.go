package api_test

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/fund/api"
	"github.com/itss/techcommit/services/fund/internal/domain/ledger"
)

// TestEveryOperationDocumentsTheAnswersItCanGive checks the document against what the
// platform does to every request, so that a client generated from it knows every
// status it may see: 400 where there is input to validate, 401 and 403 where a token
// and a role are needed, 413 where there is a body, 429 on rate-limited writes, 409
// where an Idempotency-Key may find its first request still running, and a default
// for 500 and 503; and that each request body has an example.
func TestEveryOperationDocumentsTheAnswersItCanGive(t *testing.T) {
	t.Parallel()
	doc, err := httpserver.LoadSpec(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, path := range paths {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			params := append(slices.Clone(item.Parameters), op.Parameters...)
			public := op.Security != nil && len(*op.Security) == 0
			var want []int
			if len(params) > 0 || op.RequestBody != nil {
				want = append(want, http.StatusBadRequest)
			}
			if !public {
				want = append(want, http.StatusUnauthorized, http.StatusForbidden)
			}
			if op.RequestBody != nil {
				want = append(want, http.StatusRequestEntityTooLarge)
				mt := op.RequestBody.Value.Content.Get("application/json")
				if mt == nil || (mt.Example == nil && len(mt.Examples) == 0) {
					t.Errorf("%s %s: the request body has no example", method, path)
				}
			}
			if !public && (method == http.MethodPost || method == http.MethodPut) && !isOpsOnly(op) {
				want = append(want, http.StatusTooManyRequests)
			}
			if hasParam(params, "Idempotency-Key") {
				want = append(want, http.StatusConflict, http.StatusUnprocessableEntity)
			}
			if op.Responses.Default() == nil {
				t.Errorf("%s %s does not document the unexpected (5xx) answer", method, path)
			}
			for _, status := range want {
				if op.Responses.Status(status) == nil {
					t.Errorf("%s %s does not document %d", method, path, status)
				}
			}
		}
	}
}

// isOpsOnly says whether only ITSS staff may call an operation; their writes are
// limited like anyone's, but the document need not warn them of it everywhere.
func isOpsOnly(op *openapi3.Operation) bool {
	roles, _ := op.Extensions["x-roles"].([]any)
	return len(roles) == 1 && roles[0] == "ops"
}

func hasParam(params openapi3.Parameters, name string) bool {
	for _, p := range params {
		if p.Value != nil && p.Value.Name == name {
			return true
		}
	}
	return false
}

// TestEveryStringSaysWhatItMayHold keeps free text out of the contract: every string
// has an enum, a format (line or text for what people write, with a maxLength) or an
// anchored pattern, so a title with a line break or a direction override is refused
// at the door.
func TestEveryStringSaysWhatItMayHold(t *testing.T) {
	t.Parallel()
	got, err := httpserver.UnconstrainedStrings(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, where := range got {
		t.Errorf("%s: a string with no enum, format or anchored pattern", where)
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

// TestTheAwardsLetGoConflictIsDescribedOnIt: the award's passing 409 when its claim
// on the organisation's funding was let go (ledger.ErrLetGo) is told on the award
// operation itself, not only by the general text of a passing conflict: what
// happened (its request took too long, the claim was let go, nothing was awarded or
// drawn) and what to do (send the same request again after Retry-After), with the
// answer's words as an example and the header declared.
func TestTheAwardsLetGoConflictIsDescribedOnIt(t *testing.T) {
	t.Parallel()
	doc, err := httpserver.LoadSpec(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Value("/v1/applications/{id}/award").Post
	conflict := op.Responses.Status(http.StatusConflict)
	if conflict == nil || conflict.Value == nil || conflict.Value.Description == nil {
		t.Fatal("the award documents no 409")
	}
	desc := *conflict.Value.Description
	for _, says := range []string{"let go", "nothing was awarded", "Retry-After", "send the same request again"} {
		if !strings.Contains(desc, says) {
			t.Errorf("the award's 409 does not say %q: %s", says, desc)
		}
	}
	if conflict.Value.Headers["Retry-After"] == nil {
		t.Error("the award's 409 declares no Retry-After")
	}
	mt := conflict.Value.Content.Get("application/problem+json")
	found := false
	for _, ex := range mt.Examples {
		if m, ok := ex.Value.Value.(map[string]any); ok && m["detail"] == ledger.ErrLetGo.Message {
			found = true
		}
	}
	if !found {
		t.Errorf("the award's 409 gives no example answering %q", ledger.ErrLetGo.Message)
	}
}
