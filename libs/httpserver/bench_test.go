package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/auth"
)

// BenchmarkPipeline is one authenticated, validated POST through every middleware
// of the platform to a handler that decodes and answers, in process: what the HTTP
// pipeline costs a request before and after the service's own work.
func BenchmarkPipeline(b *testing.B) {
	f := newServer(b)
	token := "Bearer " + f.token(b, auth.RoleOps)
	const body = `{"name":"widget","count":3,"email":"a@example.ac.uk"}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(body))
		req.Header.Set("Authorization", token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
