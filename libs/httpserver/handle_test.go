package httpserver_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/httpserver"
)

type named struct {
	Name string `json:"name"`
}

type answer struct {
	Status   int
	Location string
	Body     string
	Err      string
	Called   []string // what reached who and call
}

// handled runs h on a request with body, as a handler would, and says what came of it.
func handled(body string, h func(c httpserver.Context, log *[]string) error) answer {
	req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(body))
	if body == "" {
		req = httptest.NewRequest(http.MethodPost, "/things", nil)
	}
	rec := httptest.NewRecorder()
	var log []string
	err := h(httpserver.NewContext(req, rec), &log)
	a := answer{Status: rec.Code, Location: rec.Header().Get("Location"), Body: strings.TrimSpace(rec.Body.String()), Called: log}
	if err != nil {
		a.Status, a.Body = 0, ""
		a.Err = err.Error()
		if ae, ok := apperr.As(err); ok {
			a.Err = string(ae.Code) + " " + ae.Field + ": " + ae.Message
		}
	}
	return a
}

// caller is who, recording that it was asked; "nobody" is refused.
func caller(log *[]string, as string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		*log = append(*log, "who")
		if as == "nobody" {
			return "", apperr.New(apperr.Unauthenticated, "a valid bearer token is required")
		}
		return as, nil
	}
}

func upper(s string) string { return strings.ToUpper(s) }

// TestHandleDecodesIdentifiesCallsAndAnswers: Handle decodes the body (strictly,
// optionally, or not at all, by its type), then asks who is calling, then calls the
// app with both, and answers 200 with what it returned, presented; Create answers
// 201 with the Location of what was made. Each refusal on the way is the answer, and
// nothing after it runs.
func TestHandleDecodesIdentifiesCallsAndAnswers(t *testing.T) {
	t.Parallel()
	required := func(as string, fail error) func(httpserver.Context, *[]string) error {
		return func(c httpserver.Context, log *[]string) error {
			return httpserver.Handle(c, caller(log, as), func(_ context.Context, by string, body named) (string, error) {
				*log = append(*log, "call "+by+" "+body.Name)
				return by + " named " + body.Name, fail
			}, upper)
		}
	}
	optional := func(c httpserver.Context, log *[]string) error {
		return httpserver.Handle(c, caller(log, "ops"), func(_ context.Context, by string, body httpserver.Optional[named]) (string, error) {
			*log = append(*log, "call "+by+" "+body.Value.Name)
			return "reason " + body.Value.Name, nil
		}, upper)
	}
	none := func(c httpserver.Context, log *[]string) error {
		return httpserver.Handle(c, caller(log, "ops"), func(_ context.Context, by string, _ httpserver.None) (string, error) {
			*log = append(*log, "call "+by)
			return "read", nil
		}, upper)
	}
	create := func(c httpserver.Context, log *[]string) error {
		return httpserver.Create(c, caller(log, "ops"), func(_ context.Context, by string, body named) (string, error) {
			*log = append(*log, "call "+by+" "+body.Name)
			return body.Name, nil
		}, upper, func(id string) string { return "/things/" + id })
	}
	for _, tt := range []struct {
		name string
		body string
		h    func(httpserver.Context, *[]string) error
		want answer
	}{
		{"answered", `{"name":"kiln"}`, required("ops", nil), answer{Status: 200, Body: `"OPS NAMED KILN"`, Called: []string{"who", "call ops kiln"}}},
		{"unknown field", `{"name":"kiln","colour":"red"}`, required("ops", nil), answer{Err: "invalid colour: is not a field of this request"}},
		{"no body where one is needed", ``, required("ops", nil), answer{Err: "invalid body: the body is empty or cut short"}},
		{"caller refused", `{"name":"kiln"}`, required("nobody", nil), answer{Err: "unauthenticated : a valid bearer token is required", Called: []string{"who"}}},
		{"app refused", `{"name":"kiln"}`, required("ops", apperr.New(apperr.Conflict, "kiln is lit")), answer{Err: "conflict : kiln is lit", Called: []string{"who", "call ops kiln"}}},
		{"app failed", `{"name":"kiln"}`, required("ops", errors.New("disk full")), answer{Err: "disk full", Called: []string{"who", "call ops kiln"}}},
		{"optional body left out", ``, optional, answer{Status: 200, Body: `"REASON "`, Called: []string{"who", "call ops "}}},
		{"optional body given", `{"name":"late"}`, optional, answer{Status: 200, Body: `"REASON LATE"`, Called: []string{"who", "call ops late"}}},
		{"optional body unknown field", `{"why":"late"}`, optional, answer{Err: "invalid why: is not a field of this request"}},
		{"no body read", `{"anything":1}`, none, answer{Status: 200, Body: `"READ"`, Called: []string{"who", "call ops"}}},
		{"created", `{"name":"kiln"}`, create, answer{Status: 201, Location: "/things/kiln", Body: `"KILN"`, Called: []string{"who", "call ops kiln"}}},
		{"not created", `{"name":1}`, create, answer{Err: "invalid name: must be text (a JSON string)"}},
	} {
		if diff := cmp.Diff(tt.want, handled(tt.body, tt.h)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
