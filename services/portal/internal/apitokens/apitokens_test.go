package apitokens_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// newStore is the store on the test's own database and NATS server.
func newStore(t *testing.T) (*apitokens.Store, *clock.Fake) {
	t.Helper()
	s, clk, _, _ := newStoreJS(t)
	return s, clk
}

// newStoreJS is newStore, the NATS server's JetStream, whose token stream the
// portal's declaration made, and the store's database.
func newStoreJS(t *testing.T) (*apitokens.Store, *clock.Fake, jetstream.JetStream, *mongo.Database) {
	t.Helper()
	_, db := testenv.Mongo(t)
	_, js := testenv.JetStream(t, testenv.NATS(t))
	if _, err := bus.EnsureStream(context.Background(), js, bus.PortalTokenStream(1)); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Now())
	return storeOn(t, db, js, clk), clk, js, db
}

// storeOn is the store on db and js, minting with a key of its own.
func storeOn(t *testing.T, db *mongo.Database, js jetstream.JetStream, clk clock.Clock) *apitokens.Store {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	minter, err := signin.NewMinter("https://portal.example.org", key, clk)
	if err != nil {
		t.Fatal(err)
	}
	s, err := apitokens.New(context.Background(), apitokens.Deps{DB: db, JS: js, Minter: minter, Clock: clk, Logger: telemetry.Discard(),
		Audience: "tc-fund", MaxLifetime: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s
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
	if _, err := s.Revoke(ctx, "org-a", last.ID, apitokens.Revoker{Name: "Sam Patel"}); err != nil {
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
	if _, err := s.Revoke(ctx, "org-a", theirs.ID, apitokens.Revoker{Name: "Sam Patel"}); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("revoking another organisation's token: %v, want not found", err)
	}
	if _, err := s.Revoke(ctx, "", theirs.ID, apitokens.Revoker{Name: "Olu Ops (ITSS)"}); err != nil {
		t.Errorf("ops revoking any token: %v", err)
	}
}

// Tokens made at once stay within the bound: each counted the ones in force before
// any of them was written, and 10 made at once beside 19 left 26-29 in force.
func TestTokensMadeAtOnceStayBounded(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	for i := range apitokens.MaxActive - 1 {
		if _, _, err := s.Issue(ctx, request(fmt.Sprint("tool ", i))); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = s.Issue(ctx, request(fmt.Sprint("at once ", i))) })
	}
	wg.Wait()
	made := 0
	for _, err := range errs {
		switch {
		case err == nil:
			made++
		case apperr.CodeOf(err) != apperr.Conflict:
			t.Errorf("a token made at once: %v, want it made or refused as one too many", err)
		}
	}
	list, err := s.List(ctx, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	if made != 1 || len(list) != apitokens.MaxActive {
		t.Errorf("10 made at once beside %d: %d made, %d in force; want 1 and %d", apitokens.MaxActive-1, made, len(list), apitokens.MaxActive)
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
			if _, err := s.Revoke(ctx, "org-a", tok.ID, apitokens.Revoker{Name: "Sam Patel"}); err != nil {
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

// told is each message the token stream holds: the token it is of, and its type.
func told(t *testing.T, js jetstream.JetStream) [][2]string {
	t.Helper()
	ctx := context.Background()
	stream, err := js.Stream(ctx, events.StreamPortalTokens)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]string{m.Header.Get(bus.HeaderSubject), m.Header.Get(bus.HeaderType)})
	}
	return out
}

// said is the last event type the token stream holds for each token.
func said(t *testing.T, js jetstream.JetStream) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range told(t, js) {
		out[m[0]] = m[1]
	}
	return out
}

// A state the token stream could not be told when it changed (the stream was away)
// is told by Retell once it is back: a revocation, and the revocation of a token
// whose issue was never confirmed. What the stream was told is not told again.
func TestRetellTellsWhatTheStreamMissed(t *testing.T) {
	t.Parallel()
	s, _, js, _ := newStoreJS(t)
	ctx := context.Background()
	kept, _, err := s.Issue(ctx, request("Kept"))
	if err != nil {
		t.Fatal(err)
	}
	dropped, _, err := s.Issue(ctx, request("Dropped"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Retell(ctx); err != nil || n != 0 {
		t.Fatalf("with everything told, retell told %d (%v), want 0", n, err)
	}

	if err := js.DeleteStream(ctx, events.StreamPortalTokens); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, "org-a", dropped.ID, apitokens.Revoker{Name: "Sam Patel"}); apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("revoking with the stream away: %v, want unavailable", err)
	}
	if _, _, err := s.Issue(ctx, request("Unconfirmed")); apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("issuing with the stream away: %v, want unavailable", err)
	}
	if n, err := s.Retell(ctx); err == nil || n != 0 {
		t.Fatalf("retell with the stream away told %d (%v), want an error", n, err)
	}

	if _, err := bus.EnsureStream(ctx, js, bus.PortalTokenStream(1)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Retell(ctx); err != nil || n != 2 {
		t.Fatalf("retell told %d (%v), want 2", n, err)
	}
	list, err := s.List(ctx, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	got := said(t, js)
	revoked := events.APITokenRevokedV1{}.EventType()
	for _, tok := range list {
		want := map[string]string{"Kept": "", "Dropped": revoked, "Unconfirmed": revoked}[tok.Name]
		if got[tok.ID] != want {
			t.Errorf("%s: the stream holds %q, want %q", tok.Name, got[tok.ID], want)
		}
	}
	if len(list) != 3 || got[kept.ID] != "" {
		t.Errorf("tokens %d, kept told %q", len(list), got[kept.ID])
	}
	if n, err := s.Retell(ctx); err != nil || n != 0 {
		t.Errorf("retell again told %d (%v), want 0", n, err)
	}
}

// Retell racing revocations: records the stream was never told (as those made before
// the token stream) are told while people revoke them. However the two interleave,
// the stream ends up holding every revocation, and each record knows it was told, so
// the next Retell has nothing left to tell. (The fund keeps a revocation whatever
// "issued" reaches it after.)
func TestRetellRacingRevocationsLosesNone(t *testing.T) {
	t.Parallel()
	s, _, js, db := newStoreJS(t)
	ctx := context.Background()
	var ids []string
	for i := range 10 {
		tok, _, err := s.Issue(ctx, request(fmt.Sprintf("tool %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	if _, err := db.Collection("api_tokens").UpdateMany(ctx, bson.D{}, bson.D{{Key: "$unset", Value: bson.D{{Key: "told", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 3 {
		wg.Go(func() {
			if _, err := s.Retell(ctx); err != nil {
				errs <- err
			}
		})
	}
	for _, id := range ids {
		wg.Go(func() {
			if _, err := s.Revoke(ctx, "org-a", id, apitokens.Revoker{Name: "Sam Patel"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := s.Retell(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Retell(ctx); err != nil || n != 0 {
		t.Errorf("after the race and one retell, retell told %d (%v), want 0", n, err)
	}
	revoked := map[string]bool{}
	for _, m := range told(t, js) {
		if m[1] == (events.APITokenRevokedV1{}).EventType() {
			revoked[m[0]] = true
		}
	}
	for _, id := range ids {
		if !revoked[id] {
			t.Errorf("token %s: no revocation on the stream", id)
		}
	}
}

// claimsOf reads a token's claims without checking its signature: what any holder
// of the token can read in it.
func claimsOf(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// A token names the person who made it, by their name and the address they signed in
// with (the fund's applicant of what it drafts); a request without an address makes a
// token that names no one.
func TestATokenNamesItsMaker(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	r := request("Pat's tool")
	r.By, r.Email = "Pat Applicant", "pat@example.ac.uk"
	_, secret, err := s.Issue(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, secret); c["name"] != "Pat Applicant" || c["email"] != "pat@example.ac.uk" || c["role"] != "applicant" {
		t.Errorf("the token's claims are %v, want Pat's name and address", c)
	}
	_, secret, err = s.Issue(ctx, request("No one's"))
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, secret); c["name"] != nil || c["email"] != nil {
		t.Errorf("a token made without an address carries %v", c)
	}
}

// The erasure of a person revokes the tokens that carry their address (which would
// otherwise write it into every application drafted with them), telling the fund, and
// takes their name and digest off the records of those tokens; another person's
// token is untouched, and a second erasure has nothing left to do.
func TestForgetRevokesTheTokensThatCarryTheAddress(t *testing.T) {
	t.Parallel()
	s, _, js, db := newStoreJS(t)
	ctx := context.Background()
	pat := request("Pat's tool")
	pat.By, pat.Email = "Pat Applicant", "Pat@Example.ac.uk"
	patsTool, _, err := s.Issue(ctx, pat)
	if err != nil {
		t.Fatal(err)
	}
	pat.Name = "Pat's old tool"
	patsOld, _, err := s.Issue(ctx, pat)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, "org-a", patsOld.ID, apitokens.Revoker{Name: "Sam Patel"}); err != nil {
		t.Fatal(err)
	}
	sam := request("Sam's tool")
	sam.Email = "sam@example.ac.uk"
	samsTool, _, err := s.Issue(ctx, sam)
	if err != nil {
		t.Fatal(err)
	}

	if n, err := s.Forget(ctx, personal.Subject("pat@example.ac.uk")); err != nil || n != 1 {
		t.Fatalf("forget told %d revoked (%v), want 1", n, err)
	}
	list, err := s.List(ctx, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		switch tok.ID {
		case patsTool.ID:
			if tok.Revoked.IsZero() || tok.RevokedBy != apitokens.ErasedMaker || tok.CreatedBy != "" {
				t.Errorf("Pat's token after the erasure: %+v", tok)
			}
		case patsOld.ID:
			if tok.RevokedBy != "Sam Patel" || tok.CreatedBy != "" {
				t.Errorf("Pat's revoked token after the erasure: %+v", tok)
			}
		case samsTool.ID:
			if !tok.Revoked.IsZero() || tok.CreatedBy != "Sam Patel" {
				t.Errorf("Sam's token after Pat's erasure: %+v", tok)
			}
		}
	}
	if got := said(t, js)[patsTool.ID]; got != (events.APITokenRevokedV1{}).EventType() {
		t.Errorf("the stream holds %q for Pat's token, want its revocation", got)
	}
	if holdsAny(t, db, personal.Subject("pat@example.ac.uk"), "Pat Applicant") {
		t.Errorf("the records keep Pat's name or digest")
	}
	if n, err := s.Forget(ctx, personal.Subject("pat@example.ac.uk")); err != nil || n != 0 {
		t.Errorf("a second erasure revoked %d (%v), want 0", n, err)
	}
}

// A token's record, which names who made it, goes KeepAfterExpiry after the token
// expired (revoked or not), and not before: it was kept for ever.
func TestATokensRecordGoesAWhileAfterItExpires(t *testing.T) {
	t.Parallel()
	s, clk := newStore(t)
	ctx := context.Background()
	short := request("Short-lived tool")
	short.Lifetime = 24 * time.Hour
	revoked := request("Revoked tool")
	revoked.Lifetime = 24 * time.Hour
	for _, r := range []apitokens.Request{short, revoked, request("Long-lived tool")} {
		tok, _, err := s.Issue(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if r.Name == "Revoked tool" {
			if _, err := s.Revoke(ctx, r.Org, tok.ID, apitokens.Revoker{Name: "Sam Patel"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := func() []string {
		list, err := s.List(ctx, "org-a")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tok := range list {
			out = append(out, tok.Name)
		}
		slices.Sort(out)
		return out
	}
	clk.Advance(24*time.Hour + apitokens.KeepAfterExpiry - time.Minute)
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("a sweep before the records' time deleted %d (%v)", n, err)
	}
	clk.Advance(2 * time.Minute)
	if n, err := s.Sweep(ctx); err != nil || n != 2 {
		t.Errorf("the sweep after the records' time deleted %d (%v), want the two expired", n, err)
	}
	if got := names(); !slices.Equal(got, []string{"Long-lived tool"}) {
		t.Errorf("records left %v, want the token still in force (30 days) alone", got)
	}
}

// TestReconcileMendsWhatARestoreUndid: the portal's records are backed up with three
// tokens in force; then one is revoked and another made. Restored from the backup,
// the records list the revoked token in force and know nothing of the new one, while
// the token stream (in NATS, not restored) holds both facts. Reconcile revokes the
// first in its record, as the stream says, and the second on the stream, since no
// one could see or revoke it in the portal any more; the others stay in force. A run
// on records that were never restored, and a second run, mend nothing.
func TestReconcileMendsWhatARestoreUndid(t *testing.T) {
	t.Parallel()
	live, clk, js, db := newStoreJS(t)
	ctx := context.Background()
	var kept []apitokens.Token
	for _, name := range []string{"kept one", "kept two", "revoked after the backup"} {
		tok, _, err := live.Issue(ctx, request(name))
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, tok)
	}
	revoked := kept[2]
	kept = kept[:2]
	backup := testenv.BackUp(t, db)
	if _, err := live.Revoke(ctx, "org-a", revoked.ID, apitokens.Revoker{Name: "Sam Patel (ITSS)", ID: "ops-sam", ITSS: true}); err != nil {
		t.Fatal(err)
	}
	made, _, err := live.Issue(ctx, request("made after the backup"))
	if err != nil {
		t.Fatal(err)
	}

	if got, err := live.Reconcile(ctx); err != nil || got != (apitokens.Reconciled{}) {
		t.Errorf("Reconcile on records never restored = %+v, %v; want nothing mended", got, err)
	}

	restored := storeOn(t, db.Client().Database(backup), js, clk)
	got, err := restored.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (apitokens.Reconciled{RevokedHere: 1, RevokedThere: 1}); got != want {
		t.Errorf("Reconcile after a restore = %+v, want %+v", got, want)
	}
	list, err := restored.List(ctx, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]string{}
	for _, tok := range list {
		state[tok.ID] = "in force"
		if !tok.Active(clk.Now()) {
			state[tok.ID] = "revoked by " + tok.RevokedBy
		}
	}
	want := map[string]string{kept[0].ID: "in force", kept[1].ID: "in force", revoked.ID: "revoked by " + apitokens.RestoredRevoker}
	if diff := cmp.Diff(want, state); diff != "" {
		t.Errorf("the restored records after Reconcile (-want +got):\n%s", diff)
	}
	stream := said(t, js)
	for id, wantType := range map[string]string{kept[0].ID: "issued", kept[1].ID: "issued", revoked.ID: "revoked", made.ID: "revoked"} {
		if !strings.Contains(stream[id], ".apitoken."+wantType+".") {
			t.Errorf("the stream's last word on %s is %q, want %s", id, stream[id], wantType)
		}
	}
	if got, err := restored.Reconcile(ctx); err != nil || got != (apitokens.Reconciled{}) {
		t.Errorf("Reconcile again = %+v, %v; want nothing mended", got, err)
	}
}

// Issue racing Retell: Retell finds a record between its write and the note that the
// stream was told, and tells the stream too. The stream holds each token's issue once
// however the two interleave, as it holds each revocation once (CI saw a portal's first
// Retell, at start, double a token issued as it ran).
func TestIssueRacingRetellTellsEachStateOnce(t *testing.T) {
	t.Parallel()
	s, _, js, _ := newStoreJS(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Retell(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var ids []string
	for i := range apitokens.MaxActive {
		tok, _, err := s.Issue(ctx, request(fmt.Sprintf("tool %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	for _, id := range ids[:apitokens.MaxActive/2] {
		if _, err := s.Revoke(ctx, "org-a", id, apitokens.Revoker{Name: "Sam Patel"}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	times := map[[2]string]int{}
	for _, m := range told(t, js) {
		times[m]++
	}
	for state, n := range times {
		if n != 1 {
			t.Errorf("%s: on the stream %d times, want once", state, n)
		}
	}
	if want := len(ids) + len(ids)/2; len(times) != want {
		t.Errorf("the stream holds %d states, want %d", len(times), want)
	}
}

// RevokeUnlent revokes the organisation's tokens in force that someone no longer
// lent the power made before the change, saying why on the stream: the lead's own
// under a corrected address as such, any other as no longer the lead's. A token made
// after the change (the change read again, long after) stays, as does one made by a
// maker still lent the power, and another organisation's.
func TestRevokeUnlentRevokesWhatItsMakersMayNoLongerMake(t *testing.T) {
	t.Parallel()
	s, clk, js, _ := newStoreJS(t)
	ctx := context.Background()
	issue := func(org, name, by, creator string) apitokens.Token {
		t.Helper()
		r := request(name)
		r.Org, r.By, r.Creator = org, by, creator
		tok, _, err := s.Issue(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	oldAddress := issue("org-a", "Lead's tool", "Sam Patel", "p-old")
	colleague := issue("org-a", "Colleague's tool", "Dev Eloper", "p-dev")
	kept := issue("org-a", "Kept colleague's tool", "Kim Lee", "p-kim")
	elsewhere := issue("org-b", "Other tool", "Ada Jones", "p-ada")
	change := clk.Now().Add(time.Second)
	clk.Advance(time.Minute)
	after := issue("org-a", "Made after the change", "Dev Eloper", "p-dev")

	n, err := s.RevokeUnlent(ctx, "org-a", []string{"p-new", "p-kim"}, "sam patel", nil, change)
	if err != nil || n != 2 {
		t.Fatalf("RevokeUnlent = %d, %v; want 2 revoked", n, err)
	}
	list, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{oldAddress.ID: apitokens.CorrectedMaker, colleague.ID: apitokens.NotLeadMaker, kept.ID: "", elsewhere.ID: "", after.ID: ""}
	for _, tok := range list {
		if tok.RevokedBy != want[tok.ID] || tok.Revoked.IsZero() != (want[tok.ID] == "") {
			t.Errorf("%s: revoked %v by %q, want by %q", tok.Name, tok.Revoked, tok.RevokedBy, want[tok.ID])
		}
	}
	if got := said(t, js); got[oldAddress.ID] != (events.APITokenRevokedV1{}).EventType() || got[colleague.ID] != (events.APITokenRevokedV1{}).EventType() {
		t.Errorf("the stream was told %v", got)
	}
	stream, err := js.Stream(ctx, events.StreamPortalTokens)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		env, err := bus.Envelope(m.Subject, m.Header, m.Data)
		var p events.APITokenRevokedV1
		if err != nil || json.Unmarshal(env.Data, &p) != nil {
			t.Fatalf("message %d on the stream: %v", seq, err)
		}
		if env.Type == p.EventType() {
			reasons[p.TokenID] = p.Reason
		}
	}
	if n, err := s.RevokeUnlent(ctx, "org-a", []string{"p-new", "p-kim"}, "Sam Patel", nil, change); err != nil || n != 0 {
		t.Errorf("read again, RevokeUnlent = %d, %v; want nothing more revoked", n, err)
	}
	if want := map[string]string{oldAddress.ID: events.APITokenRevokedMakerAddressCorrected, colleague.ID: events.APITokenRevokedMakerNotLead}; !maps.Equal(reasons, want) {
		t.Errorf("the stream's revocations say %v, want %v", reasons, want)
	}
}

// A token the portal revoked on its own (its maker no longer the lead) after the
// backup was taken says so again once Reconcile has mended the restored records, as
// the stream told the fund: not that ITSS revoked it.
func TestReconcileKeepsWhyThePortalRevokedAToken(t *testing.T) {
	t.Parallel()
	live, clk, js, db := newStoreJS(t)
	ctx := context.Background()
	r := request("outgoing lead's tool")
	r.Creator = "p-old"
	tok, _, err := live.Issue(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	backup := testenv.BackUp(t, db)
	clk.Advance(time.Minute)
	if n, err := live.RevokeUnlent(ctx, "org-a", []string{"p-new"}, "Nia New", nil, clk.Now()); err != nil || n != 1 {
		t.Fatalf("RevokeUnlent = %d, %v; want 1", n, err)
	}
	restored := storeOn(t, db.Client().Database(backup), js, clk)
	if got, err := restored.Reconcile(ctx); err != nil || got.RevokedHere != 1 {
		t.Fatalf("Reconcile after a restore = %+v, %v; want the token revoked here", got, err)
	}
	list, err := restored.List(ctx, "org-a")
	if err != nil || len(list) != 1 || list[0].ID != tok.ID {
		t.Fatalf("the restored list: %+v (%v)", list, err)
	}
	if list[0].RevokedBy != apitokens.NotLeadMaker {
		t.Errorf("the restored token says it was revoked by %q, want %q", list[0].RevokedBy, apitokens.NotLeadMaker)
	}
}

// A lead revoking a token as the portal revokes it on its own (the role handed on):
// whichever write lands last, the record names one revoker, with that revoker's
// reason, never the portal's words beside the lead's pseudonym, by which the lead's
// erasure would then overwrite the portal's words, or the lead's name beside the
// portal's reason.
func TestRevocationsRacingLeaveOneRevoker(t *testing.T) {
	t.Parallel()
	s, _, _, db := newStoreJS(t)
	ctx := context.Background()
	var ids []string
	for i := range 20 {
		r := request(fmt.Sprint("tool ", i))
		r.Creator = "p-old"
		tok, _, err := s.Issue(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() { _, _ = s.Revoke(ctx, "org-a", id, apitokens.Revoker{Name: "Sam Patel", ID: "pk-sam"}) })
	}
	wg.Go(func() { _, _ = s.RevokeUnlent(ctx, "org-a", []string{"p-new"}, "Nia New", nil, time.Time{}) })
	wg.Wait()
	list, err := s.List(ctx, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if tok.RevokedBy != "Sam Patel" && tok.RevokedBy != apitokens.NotLeadMaker {
			t.Errorf("token %s: revoked by %q, want one revoker", tok.ID, tok.RevokedBy)
		}
	}
	// The token's record names no person, and says the portal's reason only
	// beside its words.
	cur, err := db.Collection(apitokens.Collection).Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		by, revoker, why := d["revoked_by"], d["revoker"], d["revoked_why"]
		person := by == nil && revoker == nil && why == nil && d["revoked_role"] == events.APITokenRevokedByOrganisation
		portal := by == apitokens.NotLeadMaker && revoker == nil && why == events.APITokenRevokedMakerNotLead && d["revoked_role"] == events.APITokenRevokedByPortal
		if !person && !portal {
			t.Errorf("token %v: revoked by %v, revoker %v, why %v, role %v: want one revoker's", d["_id"], by, revoker, why, d["revoked_role"])
		}
	}
}

// A lead's address is corrected when the lead named has the lead's name, compared as
// the portal's contacts page and notify's emails compare it (the same words, in any
// case or spacing): their token says its maker's address was corrected, as the emails
// about the correction do, not that its maker is no longer the lead.
func TestRevokeUnlentReadsTheLeadsNameAsTheEmailsDo(t *testing.T) {
	t.Parallel()
	s, _, _, _ := newStoreJS(t)
	ctx := context.Background()
	r := request("Lead's tool")
	r.By, r.Creator = "Sam  Patel", "p-old"
	if _, _, err := s.Issue(ctx, r); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RevokeUnlent(ctx, "org-a", []string{"p-new"}, " sam patel", nil, time.Time{}); err != nil || n != 1 {
		t.Fatalf("RevokeUnlent = %d, %v; want 1", n, err)
	}
	list, err := s.List(ctx, "org-a")
	if err != nil || len(list) != 1 {
		t.Fatalf("the tokens: %+v (%v)", list, err)
	}
	if list[0].RevokedBy != apitokens.CorrectedMaker {
		t.Errorf("revoked by %q, want %q", list[0].RevokedBy, apitokens.CorrectedMaker)
	}
}

// An erasure of a token's maker racing the token's revocations (the portal's own,
// when the erasure's change of lead reaches its leads' consumer at the same moment;
// ITSS staff or the lead revoking it, which tells the fund again; Retell) leaves
// nothing of the maker in the database, however their writes interleave: the
// embedded store updates a document by reading and replacing it whole, so a
// revocation's write to the record that held the maker wrote back the name, digest
// and pseudonym the erasure had just taken off it.
func TestForgetRacingRevocationsLeavesNothingOfTheMaker(t *testing.T) {
	t.Parallel()
	s, _, js, db := newStoreJS(t)
	ctx := context.Background()
	const rounds, racers = 40, 8
	for round := range rounds {
		email, name, pseudonym := fmt.Sprintf("pat%d@example.ac.uk", round), fmt.Sprintf("Pat Maker%d", round), fmt.Sprintf("pk-pat-%d", round)
		r := request(fmt.Sprint("Pat's tool ", round))
		r.By, r.Creator, r.Email = name, pseudonym, email
		tok, _, err := s.Issue(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		// Once gone from the records, the maker never comes back, even for a moment
		// (a subject access or the tokens page reading then would be given them).
		wg.Go(func() {
			gone := false
			for {
				finished := false
				select {
				case <-done:
					finished = true
				default:
				}
				held := holdsAny(t, db, name, personal.Subject(email))
				if gone && held {
					t.Errorf("round %d: the maker came back into the records after the erasure took them off", round)
					return
				}
				gone = gone || !held
				if finished {
					return
				}
			}
		})
		wg.Go(func() {
			defer close(done)
			if _, err := s.Forget(ctx, personal.Subject(email)); err != nil {
				t.Errorf("round %d: forget: %v", round, err)
			}
		})
		wg.Go(func() { _, _ = s.RevokeUnlent(ctx, "org-a", []string{"p-new"}, "Nia New", nil, time.Time{}) })
		for i := range racers {
			wg.Go(func() {
				// A few writes each at least, and more while the erasure runs.
				for n := 0; ; n++ {
					if i%2 == 0 {
						_, _ = s.Revoke(ctx, "", tok.ID, apitokens.Revoker{Name: "Ola Ops (ITSS)", ID: "ops-sub"})
					} else {
						_, _ = s.Retell(ctx)
					}
					select {
					case <-done:
						if n >= 5 {
							return
						}
					default:
					}
				}
			})
		}
		wg.Wait()
		all := testenv.Readable(t, db, js)
		for _, trace := range []string{name, pseudonym, personal.Subject(email)} {
			if strings.Contains(all, strings.ToLower(trace)) {
				t.Errorf("round %d: after the erasure and the revocations beside it the records still hold %q", round, trace)
			}
		}
		list, err := s.List(ctx, "org-a")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range list {
			if l.ID == tok.ID && (l.Revoked.IsZero() || l.CreatedBy != "") {
				t.Errorf("round %d: Pat's token after the race: %+v, want it revoked and naming no maker", round, l)
			}
		}
	}
}

// holdsAny reports whether some document of db holds one of texts, in any case.
func holdsAny(t *testing.T, db *mongo.Database, texts ...string) bool {
	t.Helper()
	ctx := context.Background()
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Error(err)
		return false
	}
	for _, name := range names {
		cur, err := db.Collection(name).Find(ctx, bson.D{})
		if err != nil {
			t.Error(err)
			return false
		}
		var docs []bson.M
		if err := cur.All(ctx, &docs); err != nil {
			t.Error(err)
			return false
		}
		for _, d := range docs {
			b, _ := bson.MarshalExtJSON(d, false, false)
			for _, text := range texts {
				if strings.Contains(strings.ToLower(string(b)), strings.ToLower(text)) {
					return true
				}
			}
		}
	}
	return false
}

// A record an earlier version wrote names its maker itself, in the token's own
// document: the lists still name them, RevokeUnlent still tells their tokens by
// their pseudonym, and the erasure of its maker still revokes it and takes them off.
func TestARecordThatNamesItsMakerItselfIsReadAndForgotten(t *testing.T) {
	t.Parallel()
	s, clk, _, db := newStoreJS(t)
	ctx := context.Background()
	now := clk.Now().UTC().Truncate(time.Millisecond)
	for _, d := range []bson.D{
		{{Key: "_id", Value: "old-pat"}, {Key: "org", Value: "org-a"}, {Key: "name", Value: "Pat's old-shape tool"}, {Key: "created_by", Value: "Pat Applicant"},
			{Key: "creator", Value: "pk-pat"}, {Key: "subject", Value: personal.Subject("pat@example.ac.uk")}, {Key: "created_at", Value: now},
			{Key: "expires_at", Value: now.Add(24 * time.Hour)}, {Key: "last4", Value: "abcd"}, {Key: "sha256", Value: "00"}, {Key: "told", Value: "issued"}},
		{{Key: "_id", Value: "old-sam"}, {Key: "org", Value: "org-a"}, {Key: "name", Value: "Sam's old-shape tool"}, {Key: "created_by", Value: "Sam Patel"},
			{Key: "creator", Value: "pk-sam"}, {Key: "created_at", Value: now}, {Key: "expires_at", Value: now.Add(24 * time.Hour)}, {Key: "last4", Value: "efgh"},
			{Key: "sha256", Value: "01"}, {Key: "told", Value: "issued"}},
	} {
		if _, err := db.Collection(apitokens.Collection).InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	makers := func() map[string]string {
		list, err := s.List(ctx, "org-a")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, tok := range list {
			out[tok.ID] = tok.CreatedBy
		}
		return out
	}
	if diff := cmp.Diff(map[string]string{"old-pat": "Pat Applicant", "old-sam": "Sam Patel"}, makers()); diff != "" {
		t.Errorf("the old-shape records' makers (-want +got):\n%s", diff)
	}
	// Sam is still a maker, Pat no longer is.
	if n, err := s.RevokeUnlent(ctx, "org-a", []string{"pk-sam"}, "Sam Patel", nil, time.Time{}); err != nil || n != 1 {
		t.Errorf("RevokeUnlent = %d, %v; want Pat's token alone", n, err)
	}
	if _, err := s.Forget(ctx, personal.Subject("pat@example.ac.uk")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"old-pat": "", "old-sam": "Sam Patel"}, makers()); diff != "" {
		t.Errorf("the old-shape records' makers after Pat's erasure (-want +got):\n%s", diff)
	}
	if holdsAny(t, db, "Pat Applicant", "pk-pat", personal.Subject("pat@example.ac.uk")) {
		t.Error("the records keep Pat after their erasure")
	}
}

// A restore's Reconcile says who revoked a token by the role the stream gives (the
// organisation, ITSS, the portal), never the person: a token the organisation's own
// lead revoked read as revoked by ITSS, since the stream did not say. A revocation
// told before the stream said it reads as not recorded.
func TestReconcileSaysWhetherTheOrganisationOrITSSRevokedAToken(t *testing.T) {
	t.Parallel()
	live, clk, js, db := newStoreJS(t)
	ctx := context.Background()
	ids := map[string]string{}
	for _, name := range []string{"by the lead", "by ITSS", "told before the role"} {
		tok, _, err := live.Issue(ctx, request(name))
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = tok.ID
	}
	backup := testenv.BackUp(t, db)
	if _, err := live.Revoke(ctx, "org-a", ids["by the lead"], apitokens.Revoker{Name: "Sam Patel", ID: "pk-sam"}); err != nil {
		t.Fatal(err)
	}
	if _, err := live.Revoke(ctx, "org-a", ids["by ITSS"], apitokens.Revoker{Name: "Ola Ops (ITSS)", ID: "ops-ola", ITSS: true}); err != nil {
		t.Fatal(err)
	}
	// A revocation as an earlier version told it, without the role.
	old := events.APITokenRevokedV1{TokenID: ids["told before the role"], OrganisationID: "org-a", ExpiresAt: clk.Now().Add(24 * time.Hour)}
	data, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(ctx, bus.Message(events.Envelope{ID: "old-revocation", Source: "/tc/portal", Type: old.EventType(), AggregateType: "apitoken",
		AggregateID: old.TokenID, Version: 1, Time: clk.Now(), Actor: "system:portal", Data: data})); err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, events.StreamPortalTokens)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"pk-sam", "ops-ola", "Patel", "Ola"} {
			if strings.Contains(string(m.Data)+fmt.Sprint(m.Header), who) {
				t.Errorf("the token stream names who revoked a token (%q): %s", who, m.Data)
			}
		}
	}
	restored := storeOn(t, db.Client().Database(backup), js, clk)
	if got, err := restored.Reconcile(ctx); err != nil || got.RevokedHere != 3 {
		t.Fatalf("Reconcile after a restore = %+v, %v; want the three tokens revoked here", got, err)
	}
	list, err := restored.List(ctx, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tok := range list {
		got[tok.ID] = tok.RevokedBy
	}
	want := map[string]string{ids["by the lead"]: apitokens.RestoredOrganisationRevoker, ids["by ITSS"]: apitokens.RestoredRevoker,
		ids["told before the role"]: apitokens.RestoredUnknownRevoker}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("who the restored records say revoked each token (-want +got):\n%s", diff)
	}
}

// The erasure of a person who revoked tokens racing the telling of those
// revocations to the fund (Retell, after their publish failed) leaves nothing of
// them in the database: the telling wrote the token's record, which named them, back
// as it had read it, the embedded store replacing a document whole on update.
func TestForgetRevokerRacingRetellLeavesNothingOfThem(t *testing.T) {
	t.Parallel()
	s, _, _, db := newStoreJS(t)
	ctx := context.Background()
	const rounds, tokens, racers = 15, 15, 4
	for round := range rounds {
		org := fmt.Sprint("org-", round)
		name, pseudonym := fmt.Sprintf("Rhea Revoker%d", round), fmt.Sprintf("pk-rhea-%d", round)
		for i := range tokens {
			r := request(fmt.Sprint("tool ", i))
			r.Org = org
			tok, _, err := s.Issue(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Revoke(ctx, org, tok.ID, apitokens.Revoker{Name: name, ID: pseudonym}); err != nil {
				t.Fatal(err)
			}
		}
		// The fund was not told (the publishes failed): Retell tells it.
		if _, err := db.Collection(apitokens.Collection).UpdateMany(ctx, bson.D{{Key: "org", Value: org}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "told", Value: ""}}}}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := s.ForgetRevoker(ctx, pseudonym); err != nil {
				t.Errorf("round %d: %v", round, err)
			}
		})
		for range racers {
			wg.Go(func() { _, _ = s.Retell(ctx) })
		}
		wg.Wait()
		if holdsAny(t, db, name, pseudonym) {
			t.Errorf("round %d: after the erasure of who revoked them, with Retell beside it, the records still name them", round)
		}
		list, err := s.List(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range list {
			if tok.Revoked.IsZero() || tok.RevokedBy != apitokens.ErasedRevoker {
				t.Errorf("round %d: token %s after its revoker's erasure: revoked %v by %q", round, tok.ID, tok.Revoked, tok.RevokedBy)
			}
		}
	}
}
