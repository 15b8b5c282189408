package http

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/services/fund/api"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
)

// seeds are application requests worth starting from: a valid one, and the shapes
// that have broken decoders before (overflow, impossible dates, nulls, wrong kinds).
var seeds = []string{
	`{"round_id":"r1","title":"t","summary":"s","themes":["visibility"],"requested_amount_pence":500,"partners":[{"name":"p"}],"endorsement":{"name":"n","email":"a@b.co"},"budget_lines":[{"description":"d","amount_pence":500}],"milestones":[{"description":"m","due":"2027-06-01"}]}`,
	`{"requested_amount_pence":-1,"budget_lines":[{"amount_pence":9223372036854775807},{"amount_pence":1}]}`,
	`{"milestones":[{"due":"2027-02-30"}]}`, `{"themes":[null]}`, `{"partners":[{"organisation_id":"org1"}]}`, `[]`, `null`,
	`{"round_id":{"$ne":null}}`, `{"round_id":"r1","status":"awarded"}`, `{"endorsement":{"email":"a@b.c\r\nBcc: x@y.z"}}`,
	`{"round_id":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
}

var fuzzRound = round.Round{ID: "r1", Name: "R", Opens: time.Unix(0, 0), Closes: time.Unix(1<<40, 0), BudgetPence: 1e6, MinAwardPence: 100, MaxAwardPence: 1e5,
	ProjectStart: civil.New(2027, 1, 1), ProjectEnd: civil.New(2027, 12, 31), Themes: []string{"visibility"}}

// FuzzApplicationRequest runs arbitrary bodies through the application request's
// decoder and the domain validator: every outcome is a value or an Invalid error that
// names a field, never a panic.
func FuzzApplicationRequest(f *testing.F) {
	for _, seed := range seeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c := httpserver.NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)), httptest.NewRecorder())
		var req api.ApplicationRequest
		if err := httpserver.Decode(c, &req); err != nil {
			if ae, ok := apperr.As(err); !ok || ae.Field == "" {
				t.Fatalf("decode error %v names no field", err)
			}
			return
		}
		if err := application.Validate(fuzzRound, "org1", requestContent(req)); err != nil {
			if ae, ok := apperr.As(err); !ok || ae.Code != apperr.Invalid || ae.Field == "" {
				t.Fatalf("validation error %v is not Invalid naming a field", err)
			}
		}
	})
}

// FuzzApplicationRequestOverTheContract sends arbitrary bodies to POST
// /v1/applications through the whole request pipeline an applicant meets — body
// limit, the OpenAPI document's validation, the strict decoder, the domain
// validator — and checks the answer is a draft, a 400 problem naming a field or a
// 413, never a 500.
func FuzzApplicationRequestOverTheContract(f *testing.F) {
	for _, seed := range seeds {
		f.Add(seed)
	}
	srv := contractServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		rec := post(srv, body)
		switch rec.Code {
		case http.StatusCreated, http.StatusRequestEntityTooLarge:
		case http.StatusBadRequest:
			var p struct {
				Field string `json:"field"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Field == "" {
				t.Fatalf("400 names no field: %s", rec.Body)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// The fuzz target's pipeline must let a good request through, or it proves nothing.
func TestTheContractPipelineAcceptsAValidApplication(t *testing.T) {
	t.Parallel()
	srv := contractServer(t)
	if rec := post(srv, seeds[0]); rec.Code != http.StatusCreated {
		t.Fatalf("valid application: %d %s", rec.Code, rec.Body)
	}
	if rec := post(srv, seeds[len(seeds)-2]); rec.Code != http.StatusBadRequest {
		t.Fatalf("header injection: %d %s", rec.Code, rec.Body)
	}
}

func post(srv *httpserver.Server, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/applications", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

// contractServer is the platform's HTTP server with the fund's document, an
// applicant's identity and a handler that decodes and validates as CreateApplication
// does, answering 201 where the real one would go on to store the draft.
func contractServer(tb testing.TB) *httpserver.Server {
	tb.Helper()
	applicant := func(next httpserver.HandlerFunc) httpserver.HandlerFunc {
		return func(c httpserver.Context) error {
			ctx := auth.WithPrincipal(c.Request().Context(), auth.Principal{Subject: "u1", Role: auth.RoleApplicant, Org: "org1"})
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
	srv, err := httpserver.New(httpserver.Options{Service: "fund", Config: config.HTTP{BodyLimit: "256K"}, Spec: api.Spec,
		Authenticate: auth.Authenticate, Logger: telemetry.Discard(), Middleware: []httpserver.MiddlewareFunc{applicant}})
	if err != nil {
		tb.Fatal(err)
	}
	srv.Echo().POST("/v1/applications", func(c httpserver.Context) error {
		var req api.ApplicationRequest
		if err := httpserver.Decode(c, &req); err != nil {
			return err
		}
		if err := application.Validate(fuzzRound, "org1", requestContent(req)); err != nil {
			return err
		}
		return c.NoContent(http.StatusCreated)
	})
	return srv
}
