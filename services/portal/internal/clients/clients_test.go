package clients

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	sigapi "github.com/itss/techcommit/services/signatory/api"
)

type fakeMinter struct{}

func (fakeMinter) Mint(auth.Principal, string) (string, error) { return "token", nil }

// The public pages name their visitor to the services in X-Forwarded-For: the one
// address the portal counted them as (an IPv6 client by its /64, which the services
// count as one too), and nothing when it has none; calls for a person signed in
// carry their token instead, and name nobody.
func TestPublicCallsNameTheVisitor(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = r.Header.Values("X-Forwarded-For")
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	svc := Service{URL: srv.URL, Audience: "aud"}
	c, err := New(Config{Signatory: svc, Review: svc, Notify: svc, Fund: svc}, fakeMinter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	call := func(set *Set, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := set.Signatory.ListDirectory(context.Background(), &sigapi.ListDirectoryParams{})
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		return got
	}
	for _, tc := range []struct {
		client string
		want   []string
	}{
		{"198.51.100.7", []string{"198.51.100.7"}},
		{"2001:db8:1:2::/64", []string{"2001:db8:1:2::"}},
		{"pipe", nil},
		{"", nil},
	} {
		if got := call(c.Public(tc.client)); len(got) != len(tc.want) || (len(got) == 1 && got[0] != tc.want[0]) {
			t.Errorf("Public(%q) sent X-Forwarded-For %q, want %q", tc.client, got, tc.want)
		}
	}
	if got := call(c.For(auth.Principal{Subject: "s", Role: auth.RoleLead, Org: "o"})); len(got) != 0 {
		t.Errorf("a call for a person sent X-Forwarded-For %q", got)
	}
}
