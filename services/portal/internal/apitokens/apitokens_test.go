package apitokens_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// newStore is the store on the test's own database and NATS server.
func newStore(t *testing.T) (*apitokens.Store, *clock.Fake) {
	t.Helper()
	_, db := testenv.Mongo(t)
	_, js := testenv.JetStream(t, testenv.NATS(t))
	if _, err := bus.EnsureStream(context.Background(), js, bus.StreamSpec{Name: events.StreamPortal, Subjects: []string{events.SubjectsPortal}}); err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Now())
	minter, err := signin.NewMinter("https://portal.example.org", key, clk)
	if err != nil {
		t.Fatal(err)
	}
	s, err := apitokens.New(context.Background(), apitokens.Deps{DB: db, JS: js, Minter: minter, Clock: clk, Logger: telemetry.Discard(),
		Audience: "tc-fund", MaxLifetime: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func request(name string) apitokens.Request {
	return apitokens.Request{Org: "org-a", Name: name, Lifetime: 30 * 24 * time.Hour, By: "Sam Patel", Creator: "p-1"}
}

// An organisation has at most MaxActive tokens in force: one more is refused until
// one is revoked, and an expired one no longer counts.
func TestAnOrganisationsTokensInForceAreBounded(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t)
	ctx := context.Background()
	short := request("short")
	short.Lifetime = 24 * time.Hour
	if _, _, err := s.Issue(ctx, short); err != nil {
		t.Fatal(err)
	}
	var last apitokens.Token
	for i := range apitokens.MaxActive - 1 {
		tok, _, err := s.Issue(ctx, request("tool"))
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		last = tok
	}
	if _, _, err := s.Issue(ctx, request("one too many")); apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("token %d: err = %v, want conflict", apitokens.MaxActive+1, err)
	}
	if _, err := s.Revoke(ctx, "org-a", last.ID, "Sam Patel"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Issue(ctx, request("after a revocation")); err != nil {
		t.Fatalf("after a revocation: %v", err)
	}
	clk.Advance(25 * time.Hour)
	if _, _, err := s.Issue(ctx, request("after an expiry")); err != nil {
		t.Fatalf("after an expiry: %v", err)
	}
	// Another organisation's token is not found by this one, but is by ops.
	other := request("theirs")
	other.Org = "org-b"
	theirs, _, err := s.Issue(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, "org-a", theirs.ID, "Sam Patel"); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("revoking another organisation's token: %v, want not found", err)
	}
	if _, err := s.Revoke(ctx, "", theirs.ID, "Olu Ops (ITSS)"); err != nil {
		t.Errorf("ops revoking any token: %v", err)
	}
}

// Many people revoking one token at once all succeed, and it stays revoked.
func TestConcurrentRevocationsAllRevoke(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	tok, _, err := s.Issue(ctx, request("shared"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			if _, err := s.Revoke(ctx, "org-a", tok.ID, "Sam Patel"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := s.List(ctx, "org-a")
	if err != nil || len(list) != 1 || list[0].Revoked.IsZero() {
		t.Fatalf("after the revocations: %+v, %v", list, err)
	}
}
