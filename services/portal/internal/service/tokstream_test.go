package service

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
)

// A portal started where its stream still takes every portal subject, as it did
// before the API token events had a stream of their own (with the fund's durable of
// the token events on it), narrows it to the sign-in
// links and makes the token stream beside it: the sign-in stream keeps a message 15
// minutes, the token stream longer than any token lives, and a token the portal
// issues is told on the token stream alone.
func TestThePortalGivesTheTokenEventsTheirOwnStream(t *testing.T) {
	t.Parallel()
	env := testenv.NewEnv(t)
	ctx := context.Background()
	if _, err := env.JS.CreateStream(ctx, jetstream.StreamConfig{Name: events.StreamPortal, Subjects: []string{"tc.portal.>"},
		MaxAge: events.PortalStreamMaxAge}); err != nil {
		t.Fatal(err)
	}
	// The fund's durable of that release, confined to the token events, stays behind.
	if _, err := env.JS.CreateConsumer(ctx, events.StreamPortal, jetstream.ConsumerConfig{Durable: "fund-api-tokens",
		FilterSubject: events.SubjectsAPIToken, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	p := startPortalOn(t, env, services{})
	if _, _, err := p.svc.Tokens.Issue(ctx, apitokens.Request{Org: "org-a", Name: "Grants tool", Lifetime: 30 * 24 * time.Hour,
		By: "Sam Patel", Creator: "p-1"}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]struct {
		subjects []string
		maxAge   time.Duration
		msgs     uint64
	}{
		events.StreamPortal:       {[]string{events.SubjectsPortal}, events.PortalStreamMaxAge, 0},
		events.StreamPortalTokens: {[]string{events.SubjectsAPIToken}, events.APITokenStreamMaxAge, 1},
	} {
		s, err := env.JS.Stream(ctx, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(info.Config.Subjects, want.subjects) || info.Config.MaxAge != want.maxAge || info.State.Msgs != want.msgs {
			t.Errorf("%s: subjects %v, keeps %s, holds %d; want %v, %s, %d", name, info.Config.Subjects, info.Config.MaxAge,
				info.State.Msgs, want.subjects, want.maxAge, want.msgs)
		}
	}
	if events.APITokenStreamMaxAge < events.MaxAPITokenLifetime {
		t.Errorf("the token stream keeps a message %s, less than a token may live", events.APITokenStreamMaxAge)
	}
}
