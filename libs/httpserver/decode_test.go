package httpserver_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/httpserver"
)

// picky is a field type whose own decoder refuses what it cannot read in its own
// words, as openapi_types.Email does ("email: failed to pass regex validation").
type picky string

func (p *picky) UnmarshalJSON([]byte) error {
	return errors.New("picky: failed to pass regex validation")
}

func TestDecodeTellsNoDecodersWords(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"at":"2099-05-31T17:00:60Z"}`, `{"email":"a..b@x.ac.uk"}`} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		c := echo.New().NewContext(req, httptest.NewRecorder())
		var v struct {
			At    time.Time `json:"at"`
			Email picky     `json:"email"`
		}
		err := httpserver.Decode(c, &v)
		ae, ok := apperr.As(err)
		if !ok || ae.Code != apperr.Invalid {
			t.Fatalf("%s: %v, want an Invalid error", body, err)
		}
		for _, internal := range []string{"parsing time", "second out of range", "regex", "picky"} {
			if strings.Contains(ae.Message, internal) {
				t.Errorf("%s: the caller is told %q, the decoder's words", body, ae.Message)
			}
		}
	}
}
