package pages

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/templates"
)

// A service's 429 is passed on with the service's wait, in Retry-After and in the
// page's words alike (the page said "Wait a minute" whatever the service asked),
// and a form it refused is held on the page to send again, as fail holds one:
// going back asks for the form afresh, without what was typed into it.
func TestAServicesTooManyRequestsSaysItsWaitAndKeepsTheForm(t *testing.T) {
	t.Parallel()
	render, err := templates.New("itss@example.org")
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{render: render, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, tc := range []struct {
		name, method string
		wait         time.Duration
		retryAfter   string
		words        string
		keeps        bool
	}{
		{"a page, a second", http.MethodGet, time.Second, "1", "Wait 1 second and try again.", false},
		{"a page, unsaid", http.MethodGet, 0, "60", "Wait a minute and try again.", false},
		{"a form, 20 seconds", http.MethodPost, 20 * time.Second, "20", "wait 20 seconds, then send it again", true},
		// The page said "2 minutes" for a wait its Retry-After gives as 61 seconds.
		{"a form, 61 seconds", http.MethodPost, 61 * time.Second, "61", "wait 1 minute 1 second, then send it again", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			form := url.Values{"version": {`"3"`}, "summary": {"An hour's careful summary of the review."}}
			r := httptest.NewRequest(tc.method, "/reviews/round-1/sub-1", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if err := r.ParseForm(); err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.serviceProblem(w, r, &clients.Problem{Status: http.StatusTooManyRequests, RetryAfter: tc.wait})
			body := w.Body.String()
			if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != tc.retryAfter {
				t.Errorf("= %d, Retry-After %q; want 429, %q", w.Code, w.Header().Get("Retry-After"), tc.retryAfter)
			}
			if !strings.Contains(body, tc.words) {
				t.Errorf("the page does not say %q:\n%s", tc.words, body)
			}
			kept := strings.Contains(body, `<form method="post" action="/reviews/round-1/sub-1">`) &&
				strings.Contains(body, "An hour&#39;s careful summary of the review.") && strings.Contains(body, "Send it again")
			if kept != tc.keeps {
				t.Errorf("the page holds the form to send again: %v, want %v:\n%s", kept, tc.keeps, body)
			}
		})
	}
}
