package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/httpserver"
)

type fuzzBody struct {
	Name   string            `json:"name"`
	Amount int64             `json:"amount"`
	Tags   []string          `json:"tags"`
	Nested map[string]string `json:"nested"`
}

// FuzzDecode feeds arbitrary bodies to the strict request decoder: every outcome is a
// value or an Invalid error naming a field, never a panic or another kind of error.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{`{"name":"x","amount":1}`, `{"name":1}`, `{"unknown":true}`, `{`, ``, `[]`, `{"a":1}{"b":2}`, `{"nested":{"$ne":null}}`, strings.Repeat("[", 1000)} {
		f.Add(seed)
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		c := e.NewContext(req, httptest.NewRecorder())
		var v fuzzBody
		err := httpserver.Decode(c, &v)
		if err == nil {
			return
		}
		ae, ok := apperr.As(err)
		if !ok || ae.Code != apperr.Invalid || ae.Field == "" {
			t.Fatalf("Decode(%q) = %v, want an Invalid error naming a field", body, err)
		}
	})
}
