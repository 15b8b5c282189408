package http

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/services/fund/api"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
)

// FuzzApplicationRequest runs arbitrary bodies through the application request's
// decoder and the domain validator: every outcome is a value or an Invalid error that
// names a field, never a panic.
func FuzzApplicationRequest(f *testing.F) {
	for _, seed := range []string{
		`{"round_id":"r1","title":"t","summary":"s","themes":["visibility"],"requested_amount_pence":500,"partners":[{"name":"p"}],"endorsement":{"name":"n","email":"a@b.co"},"budget_lines":[{"description":"d","amount_pence":500}],"milestones":[{"description":"m","due":"2027-06-01"}]}`,
		`{"requested_amount_pence":-1,"budget_lines":[{"amount_pence":9223372036854775807},{"amount_pence":1}]}`,
		`{"milestones":[{"due":"2027-02-30"}]}`, `{"themes":[null]}`, `{"partners":[{"organisation_id":"org1"}]}`, `[]`, `null`,
	} {
		f.Add(seed)
	}
	r := round.Round{ID: "r1", Name: "R", Opens: time.Unix(0, 0), Closes: time.Unix(1<<40, 0), BudgetPence: 1e6, MinAwardPence: 100, MaxAwardPence: 1e5,
		ProjectStart: civil.New(2027, 1, 1), ProjectEnd: civil.New(2027, 12, 31), Themes: []string{"visibility"}}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body string) {
		c := e.NewContext(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)), httptest.NewRecorder())
		var req api.ApplicationRequest
		if err := httpserver.Decode(c, &req); err != nil {
			if ae, ok := apperr.As(err); !ok || ae.Field == "" {
				t.Fatalf("decode error %v names no field", err)
			}
			return
		}
		err := application.Validate(r, "org1", content(api.ApplicationContent{
			Title: req.Title, Summary: req.Summary, Themes: req.Themes, RequestedAmountPence: req.RequestedAmountPence,
			Partners: req.Partners, Endorsement: req.Endorsement, BudgetLines: req.BudgetLines, Milestones: req.Milestones,
		}))
		if err != nil {
			if ae, ok := apperr.As(err); !ok || ae.Code != apperr.Invalid || ae.Field == "" {
				t.Fatalf("validation error %v is not Invalid naming a field", err)
			}
		}
	})
}
