package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	fundconfig "github.com/itss/techcommit/services/fund/internal/config"
	"github.com/itss/techcommit/services/fund/internal/service"
)

// portalHarness is the fund trusting a portal (an issuer of its own here) whose API
// tokens it accepts as the portal's events on TC_PORTAL_TOKENS say.
type portalHarness struct {
	*harness
	portal *auth.DevIssuer
}

// newPortal is a portal's issuer and the setting that has the fund trust it.
func newPortal(t *testing.T) (*auth.DevIssuer, func(*fundconfig.Config)) {
	t.Helper()
	jwks := httptest.NewServer(nil)
	t.Cleanup(jwks.Close)
	portal, err := auth.NewDevIssuer(jwks.URL+"/portal", "")
	if err != nil {
		t.Fatal(err)
	}
	jwks.Config.Handler = portal.JWKSHandler()
	return portal, func(c *fundconfig.Config) {
		c.Auth.PortalIssuer, c.Auth.PortalJWKSURL = portal.Issuer, jwks.URL+"/.well-known/jwks.json"
	}
}

func startWithPortal(t *testing.T) *portalHarness {
	t.Helper()
	return startWithPortalOpts(t, service.Options{})
}

// startWithPortalOpts is startWithPortal with opts; the token stream is made as the
// portal makes it.
func startWithPortalOpts(t *testing.T, opts service.Options) *portalHarness {
	t.Helper()
	portal, trust := newPortal(t)
	h := startWith(t, opts, trust)
	if _, err := bus.EnsureStream(context.Background(), h.js, bus.PortalTokenStream(1)); err != nil {
		t.Fatal(err)
	}
	return &portalHarness{harness: h, portal: portal}
}

// apiToken signs an API token as the portal does: kind api, a jti, the applicant
// role, the fund's audience, the organisation.
func (h *portalHarness) apiToken(id, org string, issued, expires time.Time) string {
	h.t.Helper()
	tok, err := h.portal.MintClaims(jwt.MapClaims{"iss": h.portal.Issuer, "aud": config.DevAudience("fund"), "sub": id, "jti": id,
		"role": "applicant", "org": org, "kind": auth.APITokenKind, "iat": issued.Unix(), "exp": expires.Unix()})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// say publishes the portal's word on a token, as said at at.
func (h *portalHarness) say(p events.Payload, id string, at time.Time) {
	h.t.Helper()
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: uuid.NewString(), Source: "/tc/portal", Type: p.EventType(), AggregateType: "apitoken",
		AggregateID: id, Version: 1, Time: at, Actor: "system:portal", Data: data}
	if _, err := h.js.PublishMsg(context.Background(), bus.Message(e)); err != nil {
		h.t.Fatal(err)
	}
}

// status waits until a request with tok answers want.
func (h *portalHarness) status(want int, method, path, tok string, body any) testenv.Response {
	h.t.Helper()
	var last testenv.Response
	testenv.Eventually(h.t, 10*time.Second, func() error {
		last = h.Do(method, path, tok, body)
		if last.Status != want {
			return fmt.Errorf("%s %s: %d %s, want %d", method, path, last.Status, last.Body, want)
		}
		return nil
	})
	return last
}

// An API token the portal issued drafts an application for its organisation; once
// the portal revokes it, the fund refuses it within seconds, and one it never
// issued, or one naming another organisation than it was issued for, never works.
func TestAPITokenWorksUntilRevoked(t *testing.T) {
	t.Parallel()
	h := startWithPortal(t)
	h.announce("org-a", "signatory")
	round := h.openRound(100000, 1000, 10000)
	now := time.Now()
	expires := now.Add(30 * 24 * time.Hour)
	tok := h.apiToken("tok-a", "org-a", now, expires)
	h.Must(http.StatusUnauthorized, h.Do("GET", "/v1/applications", tok, nil))

	h.say(events.APITokenIssuedV1{TokenID: "tok-a", OrganisationID: "org-a", ExpiresAt: expires}, "tok-a", time.Now())
	h.status(http.StatusOK, "GET", "/v1/applications", tok, nil)
	h.eligible(tok, round, 1000)
	h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", tok, draft(round, 5000)))

	forged := h.apiToken("tok-a", "org-b", now, expires)
	h.Must(http.StatusUnauthorized, h.Do("GET", "/v1/applications", forged, nil))
	never := h.apiToken("tok-never", "org-a", now, expires)
	h.Must(http.StatusUnauthorized, h.Do("GET", "/v1/applications", never, nil))

	h.say(events.APITokenRevokedV1{TokenID: "tok-a", OrganisationID: "org-a", ExpiresAt: expires}, "tok-a", time.Now())
	revoked := time.Now()
	h.status(http.StatusUnauthorized, "POST", "/v1/applications", tok, draft(round, 5000))
	if took := time.Since(revoked); took > 5*time.Second {
		t.Errorf("the revocation took %s to take effect", took)
	}
	// An "issued" arriving late does not bring it back. The consumer takes the
	// stream in order, so once the probe published after it works, it was heard.
	h.say(events.APITokenIssuedV1{TokenID: "tok-a", OrganisationID: "org-a", ExpiresAt: expires}, "tok-a", time.Now())
	probe := h.apiToken("tok-probe", "org-a", now, expires)
	h.say(events.APITokenIssuedV1{TokenID: "tok-probe", OrganisationID: "org-a", ExpiresAt: expires}, "tok-probe", time.Now())
	h.status(http.StatusOK, "GET", "/v1/applications", probe, nil)
	h.Must(http.StatusUnauthorized, h.Do("GET", "/v1/applications", tok, nil))
}

// A token past its expiry is refused at once, without the leeway the signature
// check allows for clock skew; one whose signed lifetime is beyond
// AUTH_MAX_API_TOKEN_LIFETIME is refused although the portal vouches for it.
func TestExpiredAPITokenIsRefused(t *testing.T) {
	t.Parallel()
	h := startWithPortal(t)
	h.announce("org-a", "signatory")
	now := time.Now()
	expires := now.Add(2 * time.Second)
	tok := h.apiToken("tok-short", "org-a", now, expires)
	h.say(events.APITokenIssuedV1{TokenID: "tok-short", OrganisationID: "org-a", ExpiresAt: expires}, "tok-short", now)
	h.status(http.StatusOK, "GET", "/v1/applications", tok, nil)
	h.status(http.StatusUnauthorized, "GET", "/v1/applications", tok, nil)
	if time.Now().After(expires.Add(10 * time.Second)) {
		t.Error("the expired token was refused only with the clock skew leeway")
	}

	long := now.Add(100 * 24 * time.Hour)
	tooLong := h.apiToken("tok-long", "org-a", now, long)
	h.say(events.APITokenIssuedV1{TokenID: "tok-long", OrganisationID: "org-a", ExpiresAt: long}, "tok-long", now)
	ok := h.apiToken("tok-ok", "org-a", now, now.Add(time.Hour))
	h.say(events.APITokenIssuedV1{TokenID: "tok-ok", OrganisationID: "org-a", ExpiresAt: now.Add(time.Hour)}, "tok-ok", now)
	h.status(http.StatusOK, "GET", "/v1/applications", ok, nil) // both events are in
	h.Must(http.StatusUnauthorized, h.Do("GET", "/v1/applications", tooLong, nil))
}

// A token keeps working while the portal is stopped and says nothing more about
// it: past the quarter of an hour the portal's stream once kept a message (when the
// fund refused a token the portal had not confirmed within it), and through most of
// the token's life, until it expires. The fund's API does not depend on the portal
// being up.
func TestAPITokenKeepsWorkingWhileThePortalIsStopped(t *testing.T) {
	t.Parallel()
	tokenClock := clock.NewFake(time.Now())
	h := startWithPortalOpts(t, service.Options{TokenClock: tokenClock})
	h.announce("org-a", "signatory")
	now := tokenClock.Now()
	expires := now.Add(90 * 24 * time.Hour).Truncate(time.Second)
	tok := h.apiToken("tok-kept", "org-a", now, expires)
	h.say(events.APITokenIssuedV1{TokenID: "tok-kept", OrganisationID: "org-a", ExpiresAt: expires}, "tok-kept", now)
	h.status(http.StatusOK, "GET", "/v1/applications", tok, nil)

	// The portal stops; time passes on the clock the token's standing is read by.
	for _, d := range []time.Duration{events.PortalStreamMaxAge + time.Minute, 24 * time.Hour, 89 * 24 * time.Hour} {
		tokenClock.Set(now.Add(d))
		h.Must(http.StatusOK, h.Do("GET", "/v1/applications", tok, nil))
	}
	tokenClock.Set(expires)
	h.Must(http.StatusUnauthorized, h.Do("GET", "/v1/applications", tok, nil))
}

// A revocation the portal publishes while every replica of the fund is stopped is
// honoured once the fund starts again, however long it was away: the token stream
// keeps it longer than any token lives and the fund's consumer is durable. The token
// not revoked keeps working all along, though the portal said nothing more of it.
func TestARevocationWhileTheFundIsStoppedIsHonouredOnRestart(t *testing.T) {
	t.Parallel()
	h := start(t) // trusts no portal, so reads no token events: only the instances below do
	portal, trust := newPortal(t)
	ph := &portalHarness{harness: h, portal: portal}
	if _, err := bus.EnsureStream(context.Background(), h.js, bus.PortalTokenStream(1)); err != nil {
		t.Fatal(err)
	}
	cfg := h.cfg
	trust(&cfg)
	tokenClock := clock.NewFake(time.Now())
	now := tokenClock.Now()
	expires := now.Add(30 * 24 * time.Hour).Truncate(time.Second)
	kept, revoked := ph.apiToken("tok-kept", "org-a", now, expires), ph.apiToken("tok-revoked", "org-a", now, expires)
	for _, id := range []string{"tok-kept", "tok-revoked"} {
		ph.say(events.APITokenIssuedV1{TokenID: id, OrganisationID: "org-a", ExpiresAt: expires}, id, now)
	}
	h.announce("org-a", "signatory")

	first, stop := h.stoppable(cfg, service.Options{TokenClock: tokenClock})
	for _, tok := range []string{kept, revoked} {
		ph.on(first).status(http.StatusOK, "GET", "/v1/applications", tok, nil)
	}
	stop()

	ph.say(events.APITokenRevokedV1{TokenID: "tok-revoked", OrganisationID: "org-a", ExpiresAt: expires}, "tok-revoked", now.Add(time.Minute))
	probe := ph.apiToken("tok-probe", "org-a", now, expires)
	ph.say(events.APITokenIssuedV1{TokenID: "tok-probe", OrganisationID: "org-a", ExpiresAt: expires}, "tok-probe", now.Add(time.Minute))
	tokenClock.Set(now.Add(7 * 24 * time.Hour)) // the fund, and the portal, were away a week

	again, _ := h.stoppable(cfg, service.Options{TokenClock: tokenClock})
	// The consumer takes the stream in order: once the probe, published after the
	// revocation, works, the revocation has been heard.
	ph.on(again).status(http.StatusOK, "GET", "/v1/applications", probe, nil)
	again.Must(http.StatusUnauthorized, again.Do("GET", "/v1/applications", revoked, nil))
	again.Must(http.StatusOK, again.Do("GET", "/v1/applications", kept, nil))

	// The stream the portal declares keeps a message longer than any token lives,
	// so no downtime within a token's life loses its revocation.
	stream, err := h.js.Stream(context.Background(), events.StreamPortalTokens)
	if err != nil {
		t.Fatal(err)
	}
	if got := stream.CachedInfo().Config.MaxAge; got < events.MaxAPITokenLifetime {
		t.Errorf("the token stream keeps a message %s, less than a token may live (%s)", got, events.MaxAPITokenLifetime)
	}
}

// on is the harness talking to another instance of the fund.
func (h *portalHarness) on(c *testenv.Client) *portalHarness {
	other := *h.harness
	other.Client = c
	return &portalHarness{harness: &other, portal: h.portal}
}

// stoppable runs one more instance of the fund on the harness's database and NATS
// server with cfg and opts, and returns a client for it and how to stop it (the test's
// end stops it too).
func (h *harness) stoppable(cfg fundconfig.Config, opts service.Options) (*testenv.Client, func()) {
	h.t.Helper()
	opts.Logger, opts.Clock = telemetry.Discard(), h.clock
	svc, cleanup, err := service.New(context.Background(), cfg, opts)
	if err != nil {
		h.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, ln, admin) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("fund stopped with: %v", err)
			}
			cleanup()
		})
	}
	h.t.Cleanup(stop)
	return &testenv.Client{TB: h.t, URL: "http://" + ln.Addr().String(), AdminURL: "http://" + admin.Addr().String(), Issuer: h.Issuer}, stop
}

// An organisation's API token reaches its own applications only.
func TestAPITokenOfOneOrganisationCannotTouchAnothers(t *testing.T) {
	t.Parallel()
	h := startWithPortal(t)
	h.announce("org-a", "signatory")
	h.announce("org-b", "signatory")
	round := h.openRound(100000, 1000, 10000)
	theirs := h.Token(auth.RoleApplicant, "org-b")
	h.eligible(theirs, round, 1000)
	id := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", theirs, draft(round, 5000))).JSON(t)["id"].(string)

	now := time.Now()
	expires := now.Add(24 * time.Hour)
	tok := h.apiToken("tok-a", "org-a", now, expires)
	h.say(events.APITokenIssuedV1{TokenID: "tok-a", OrganisationID: "org-a", ExpiresAt: expires}, "tok-a", now)
	list := h.status(http.StatusOK, "GET", "/v1/applications", tok, nil).JSON(t)["items"].([]any)
	for _, a := range list {
		if a.(map[string]any)["organisation_id"] != "org-a" {
			t.Errorf("org-a's token lists %v", a)
		}
	}
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/applications/"+id, tok, nil))
	h.Must(http.StatusNotFound, h.Do("POST", "/v1/applications/"+id+"/submission", tok, nil))
	h.Must(http.StatusNotFound, h.Do("POST", "/v1/applications/"+id+"/withdrawal", tok, nil))
	update := draft(round, 5000)
	delete(update, "round_id")
	h.Must(http.StatusNotFound, h.Do("PUT", "/v1/applications/"+id, tok, update))
}

// Revoking while the token is in use: requests racing the revocation are each
// answered 2xx or 401, never anything else, and once one request has been refused
// no request sent after it succeeds.
func TestRevokingWhileTheTokenIsInUse(t *testing.T) {
	t.Parallel()
	h := startWithPortal(t)
	h.announce("org-a", "signatory")
	now := time.Now()
	expires := now.Add(24 * time.Hour)
	tok := h.apiToken("tok-busy", "org-a", now, expires)
	h.say(events.APITokenIssuedV1{TokenID: "tok-busy", OrganisationID: "org-a", ExpiresAt: expires}, "tok-busy", now)
	h.status(http.StatusOK, "GET", "/v1/applications", tok, nil)

	var refusedAt atomic.Int64 // when the first 401 was answered, in unix nanoseconds
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent := time.Now().UnixNano()
				r := h.Do("GET", "/v1/applications", tok, nil)
				switch r.Status {
				case http.StatusOK:
					if at := refusedAt.Load(); at != 0 && sent > at {
						errs <- fmt.Errorf("a request sent after the token was refused succeeded")
					}
				case http.StatusUnauthorized:
					refusedAt.CompareAndSwap(0, time.Now().UnixNano())
				case http.StatusTooManyRequests:
					// The callers' read limit, which these loops may reach on a fast
					// machine: not what this test is about.
					time.Sleep(20 * time.Millisecond)
				default:
					errs <- fmt.Errorf("status %d: %s", r.Status, r.Body)
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // let the requests get going before the revocation
	h.say(events.APITokenRevokedV1{TokenID: "tok-busy", OrganisationID: "org-a", ExpiresAt: expires}, "tok-busy", time.Now())
	testenv.Eventually(t, 10*time.Second, func() error {
		if refusedAt.Load() == 0 {
			return fmt.Errorf("not refused yet")
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond) // requests keep coming after the first refusal
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// An organisation's nominated lead reads its applications (through the portal), and
// no other organisation's; reading is all a lead may do.
func TestLeadReadsItsOrganisationsApplicationsOnly(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-a", "signatory")
	h.announce("org-b", "signatory")
	round := h.openRound(100000, 1000, 10000)
	mine, theirs := h.Token(auth.RoleApplicant, "org-a"), h.Token(auth.RoleApplicant, "org-b")
	h.eligible(mine, round, 1000)
	h.eligible(theirs, round, 1000)
	own := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", mine, draft(round, 5000))).JSON(t)["id"].(string)
	other := h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", theirs, draft(round, 5000))).JSON(t)["id"].(string)
	lead := h.Token(auth.RoleLead, "org-a")
	h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+own, lead, nil))
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/applications/"+other, lead, nil))
	h.Must(http.StatusForbidden, h.Do("POST", "/v1/applications/"+own+"/submission", lead, nil))
	for _, a := range h.Must(http.StatusOK, h.Do("GET", "/v1/applications", lead, nil)).JSON(t)["items"].([]any) {
		if a.(map[string]any)["organisation_id"] != "org-a" {
			t.Errorf("org-a's lead lists %v", a)
		}
	}
}

// TestARestoreDoesNotReviveARevokedAPIToken: the fund's database is backed up while
// an API token works; then the portal revokes it. Restored from that backup, the
// fund's read model holds the token in force again, and its durable consumer, whose
// place NATS kept, will not hear the revocation twice: the restore runbook's
// rebuild-projections must replay the token stream (which keeps every event as long
// as a token lives), so that the restored fund refuses the token, and still takes
// one issued after the backup.
func TestARestoreDoesNotReviveARevokedAPIToken(t *testing.T) {
	t.Parallel()
	h := startWithPortal(t)
	h.announce("org-a", "signatory")
	now := time.Now()
	expires := now.Add(30 * 24 * time.Hour)
	tok := h.apiToken("tok-a", "org-a", now, expires)
	h.say(events.APITokenIssuedV1{TokenID: "tok-a", OrganisationID: "org-a", ExpiresAt: expires}, "tok-a", now)
	h.status(http.StatusOK, "GET", "/v1/applications", tok, nil)

	backup := testenv.BackUp(t, h.svc.DB)
	h.say(events.APITokenRevokedV1{TokenID: "tok-a", OrganisationID: "org-a", ExpiresAt: expires}, "tok-a", time.Now())
	later := h.apiToken("tok-later", "org-a", now, expires)
	h.say(events.APITokenIssuedV1{TokenID: "tok-later", OrganisationID: "org-a", ExpiresAt: expires}, "tok-later", time.Now())
	h.status(http.StatusOK, "GET", "/v1/applications", later, nil)
	h.Must(http.StatusUnauthorized, h.Do("GET", "/v1/applications", tok, nil))

	cfg := h.cfg
	cfg.Platform.Mongo.Database = backup
	restored, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard(), Clock: h.clock})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := restored.RebuildProjections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := h.env.Serve(t, restored.Serve, cleanup)
	if got := c.Do("GET", "/v1/applications", tok, nil); got.Status != http.StatusUnauthorized {
		t.Errorf("after a restore and its rebuild (%v) the revoked token answers %d, want 401", rep.Replayed, got.Status)
	}
	if got := c.Do("GET", "/v1/applications", later, nil); got.Status != http.StatusOK {
		t.Errorf("after a restore and its rebuild a token issued after the backup answers %d %s, want 200", got.Status, got.Body)
	}
}
