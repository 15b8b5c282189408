package service_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/signatory/api"
	"github.com/itss/techcommit/services/signatory/internal/app"
	"github.com/itss/techcommit/services/signatory/internal/config"
	"github.com/itss/techcommit/services/signatory/internal/service"
)

// dump is every document of every collection of the service's database, as text.
func (o *observed) dump(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	names, err := o.svc.DB.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, name := range names {
		cur, err := o.svc.DB.Collection(name).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.M
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			ej, err := bson.MarshalExtJSON(d, false, false)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s\n", name, ej)
		}
	}
	return b.String()
}

// streamText is every message of the given streams, headers and data, as text.
func (o *observed) streamText(t *testing.T, streams ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	for _, name := range streams {
		s, err := o.js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				continue // deleted
			}
			fmt.Fprintf(&b, "%s %v %s\n", m.Subject, m.Header, m.Data)
		}
	}
	return b.String()
}

// deadLetterNaming copies into the dead-letter stream, as another service's consumer
// that gave up on it would (bus.Consumer.deadLetter), the first message of the
// signatory's stream that holds text.
func (o *observed) deadLetterNaming(t *testing.T, consumer, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := bus.EnsureStream(ctx, o.js, bus.DeadLetterStream(1)); err != nil {
		t.Fatal(err)
	}
	s, err := o.js.Stream(ctx, events.StreamSignatory)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil || !strings.Contains(string(m.Data), text) {
			continue
		}
		dl := nats.NewMsg(bus.DeadLetterSubject(consumer))
		dl.Data = m.Data
		for k, vs := range m.Header {
			for _, v := range vs {
				dl.Header.Add(k, v)
			}
		}
		dl.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s:%s:%d", consumer, events.StreamSignatory, seq))
		dl.Header.Set(bus.HeaderDeadConsumer, consumer)
		dl.Header.Set(bus.HeaderDeadSubject, m.Subject)
		dl.Header.Set(bus.HeaderDeadReason, "the test gave up on it")
		if _, err := o.js.PublishMsg(ctx, dl); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no message of the signatory's stream holds %q", text)
}

// views is the organisation views as stored, for comparing a rebuild with the live ones.
func (o *observed) views(t *testing.T) []bson.M {
	t.Helper()
	cur, err := o.svc.DB.Collection("organisation_views").Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(context.Background(), &docs); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(docs, func(a, b bson.M) int { return strings.Compare(fmt.Sprint(a["_id"]), fmt.Sprint(b["_id"])) })
	return docs
}

// TestErasureForgetsAPersonEverywhereAndKeepsTheRules: an organisation is onboarded
// naming a lead (also its enquiry contact), and another names other people. Erasing
// the lead (by their address, in any case) leaves none of their name or address in
// readable form in the database, the stream, the logs or the traces; the first
// organisation says it needs a new nominated lead and keeps its other contacts; the
// second is untouched; the audit trail keeps the change with the person erased;
// projections rebuilt from the log match the live ones; and a second erasure finds
// no one.
func TestErasureForgetsAPersonEverywhereAndKeepsTheRules(t *testing.T) {
	t.Parallel()
	o := startObserved(t)
	ctx := context.Background()
	ops := o.Token(auth.RoleOps, "")
	erased := o.onboard(ops, "announcement")

	other := o.Must(http.StatusCreated, o.Do("POST", "/v1/organisations", ops, map[string]any{
		"name": "Institute of Otherton", "kind": "signatory", "sector": "research_institute", "country": "GB",
		"website": "https://www.otherton.ac.uk", "enquiry_contact": map[string]any{"name": "Rosalind Franklin", "email": "r.franklin@otherton.ac.uk"},
	})).JSON(t)["id"].(string)
	o.Must(http.StatusOK, o.Do("POST", "/v1/organisations/"+other+"/meeting", ops, map[string]any{"held_on": "2025-02-10"}))
	o.Must(http.StatusOK, o.Do("POST", "/v1/organisations/"+other+"/form", ops, map[string]any{
		"signed_on":        "2025-03-01",
		"leader":           map[string]any{"name": "Prof. Alan Turing", "title": "Director", "email": "director@otherton.ac.uk"},
		"nominated_lead":   map[string]any{"name": "Rosalind Franklin", "email": "r.franklin@otherton.ac.uk"},
		"point_of_contact": map[string]any{"name": "Rosalind Franklin", "email": "r.franklin@otherton.ac.uk"},
	}))
	o.eventsOf(erased, 5)
	o.eventsOf(other, 3)
	testenv.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(string(o.Do("GET", "/v1/directory", "", nil).Body), erased) {
			return fmt.Errorf("the directory does not list %s yet", erased)
		}
		return nil
	})
	// Before: the database holds the lead sealed; the stream carries them opened,
	// for the other services.
	if db := strings.ToLower(o.dump(t)); strings.Contains(db, "s.patel@exampleton.ac.uk") || !strings.Contains(db, "pd1:psn-") {
		t.Errorf("before erasure the database holds the lead's address in readable form, or nothing sealed:\n%s", db)
	}
	if !strings.Contains(strings.ToLower(o.streamText(t, events.StreamSignatory)), "sam patel") {
		t.Fatal("the stream does not carry the lead's name for other services before erasure")
	}

	// Subject access first: the lead is the first organisation's enquiry contact and
	// nominated lead, named in its enquiry, form and announcement.
	access := o.Must(http.StatusOK, o.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": "s.patel@exampleton.ac.uk"})).JSON(t)
	held, _ := access["organisations"].([]any)
	if len(held) != 1 {
		t.Fatalf("subject access = %v, want one organisation", access)
	}
	first := held[0].(map[string]any)
	if first["id"] != erased || fmt.Sprint(first["roles"]) != "[enquiry_contact nominated_lead]" || len(first["events"].([]any)) != 3 ||
		!strings.Contains(fmt.Sprint(first["events"]), "Sam Patel") {
		t.Errorf("subject access = %v, want the enquiry contact and nominated lead of %s in 3 events", first, erased)
	}
	// The events name the head and the point of contact beside the lead: they are
	// theirs, not the lead's, to be given.
	for _, other := range []string{"vc@exampleton.ac.uk", "Prof. Jane Smith", "Vice-Chancellor"} {
		if strings.Contains(fmt.Sprint(first["events"]), other) {
			t.Errorf("the lead's subject access answer holds %q, another person's", other)
		}
	}
	lead := o.Token(auth.RoleLead, erased)
	o.Must(http.StatusForbidden, o.Do("POST", "/v1/ops/erasures", lead, map[string]any{"email": "s.patel@exampleton.ac.uk"}))
	if r := o.Do("POST", "/v1/ops/erasures", ops, map[string]any{"email": "Sam Patel"}); r.Status != http.StatusBadRequest {
		t.Errorf("an erasure of no address: %d, want 400", r.Status)
	}

	// Consumers of other services gave up on messages naming the lead and the other
	// organisation's lead: the dead letters keep a copy of each, opened.
	o.deadLetterNaming(t, "notify-organisations", "s.patel@exampleton.ac.uk")
	o.deadLetterNaming(t, "portal-people-leads", "r.franklin@otherton.ac.uk")
	if !strings.Contains(strings.ToLower(o.streamText(t, events.StreamDeadLetter)), "s.patel@exampleton.ac.uk") {
		t.Fatal("the dead letters do not hold the lead before the erasure: the test proves nothing")
	}

	got := o.Must(http.StatusOK, o.Do("POST", "/v1/ops/erasures", ops, map[string]any{"email": "S.Patel@Exampleton.ac.uk"})).JSON(t)
	if fmt.Sprint(got["organisations"]) != fmt.Sprintf("[map[id:%s needs_nominated_lead:true]]", erased) {
		t.Fatalf("erasure = %v, want %s, needing a new lead", got, erased)
	}

	org := o.Must(http.StatusOK, o.Do("GET", "/v1/organisations/"+erased, ops, nil)).JSON(t)
	if org["needs_nominated_lead"] != true || org["nominated_lead"] != nil || org["enquiry_contact"] != nil {
		t.Errorf("after erasure the organisation reads %v, want no lead or enquiry contact, and needs_nominated_lead", org)
	}
	if leader, _ := org["leader"].(map[string]any); leader["email"] != "vc@exampleton.ac.uk" {
		t.Errorf("the leader, not erased, reads %v", org["leader"])
	}
	kept := o.Must(http.StatusOK, o.Do("GET", "/v1/organisations/"+other, ops, nil)).JSON(t)
	if lead, _ := kept["nominated_lead"].(map[string]any); lead["email"] != "r.franklin@otherton.ac.uk" || kept["needs_nominated_lead"] != nil {
		t.Errorf("the other organisation's lead reads %v", kept)
	}
	history := string(o.Must(http.StatusOK, o.Do("GET", "/v1/organisations/"+erased+"/history?limit=200", ops, nil)).Body)
	if !strings.Contains(history, `"erased":true`) || !strings.Contains(history, "contacts_changed") {
		t.Errorf("the audit trail does not keep the fact of the erasure: %s", history)
	}
	// A new lead can be named, and then the organisation no longer needs one.
	o.Must(http.StatusOK, o.Do("PUT", "/v1/organisations/"+erased+"/contacts", ops, map[string]any{
		"leader":           map[string]any{"name": "Prof. Jane Smith", "title": "Vice-Chancellor", "email": "vc@exampleton.ac.uk"},
		"nominated_lead":   map[string]any{"name": "Mary Jackson", "email": "m.jackson@exampleton.ac.uk"},
		"point_of_contact": map[string]any{"name": "Technical Services Office", "email": "technicians@exampleton.ac.uk"},
	}))
	if again := o.Must(http.StatusOK, o.Do("GET", "/v1/organisations/"+erased, ops, nil)).JSON(t); again["needs_nominated_lead"] != nil {
		t.Errorf("with a new lead named the organisation still needs one: %v", again)
	}

	// Projections rebuilt from the log are the live ones.
	testenv.Eventually(t, 10*time.Second, func() error {
		v := o.views(t)
		if i := slices.IndexFunc(v, func(d bson.M) bool { return d["_id"] == erased }); i < 0 || fmt.Sprint(v[i]["version"]) != "7" {
			return fmt.Errorf("the view of %s is not projected yet", erased)
		}
		return nil
	})
	live := o.views(t)
	if _, err := o.svc.RebuildProjections(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(live, o.views(t)); diff != "" {
		t.Errorf("rebuilt views differ from the live ones (-live +rebuilt):\n%s", diff)
	}

	// The audit trail as served (the log opened with the keys there are) names them no more.
	everything := strings.ToLower(history + o.dump(t) + o.streamText(t, events.StreamSignatory, events.StreamDeadLetter) + o.logs.String() + o.spanText())
	for _, s := range []string{"sam patel", "s.patel@exampleton.ac.uk", "s.patel"} {
		if strings.Contains(everything, s) {
			i := strings.Index(everything, s)
			t.Errorf("after erasure %q is still readable: …%s…", s, everything[max(0, i-300):min(len(everything), i+100)])
		}
	}
	if !strings.Contains(strings.ToLower(o.streamText(t, events.StreamDeadLetter)), "r.franklin@otherton.ac.uk") {
		t.Error("the dead letter naming another person went with the erasure")
	}
	// A second erasure finds no one here, and tells the other services again (one may
	// have missed the first): it answers with no organisation.
	if again := o.Must(http.StatusOK, o.Do("POST", "/v1/ops/erasures", ops, map[string]any{"email": "s.patel@exampleton.ac.uk"})).JSON(t); fmt.Sprint(again["organisations"]) != "[]" {
		t.Errorf("a second erasure answers %v", again)
	}
	if after := o.Must(http.StatusOK, o.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": "s.patel@exampleton.ac.uk"})).JSON(t); fmt.Sprint(after["organisations"]) != "[]" {
		t.Errorf("after erasure subject access finds %v", after)
	}
}

// Events stored before people were sealed hold them in plain text: sealing them once
// (as each start does) leaves them meaning the same, and then erasure reaches them
// like any other.
func TestOlderEventsAreSealedAndThenErasable(t *testing.T) {
	t.Parallel()
	o := startObserved(t)
	ctx := context.Background()
	const id = "01900000-0000-7000-8000-000000000001"
	ada := events.Person{Name: "Ada Lovelace", Email: "ada@legacy.ac.uk"}
	// As the service stored them before: straight into the event store, in plain text.
	if _, err := o.svc.Events.Execute(ctx, store.Command{AggregateType: "organisation", AggregateID: id, Actor: "ops:legacy", New: true,
		Decide: func([]events.Envelope) ([]events.Payload, error) {
			return []events.Payload{
				events.OrganisationEnquiryReceivedV1{OrganisationID: id, Name: "Legacy College", Kind: "signatory", Sector: "higher_education",
					Country: "GB", Website: "https://legacy.ac.uk", EnquiryContact: ada},
				events.OrganisationMeetingHeldV1{OrganisationID: id, HeldOn: civil.New(2020, time.January, 10)},
				events.OrganisationFormReceivedV1{OrganisationID: id, SignedOn: civil.New(2020, time.February, 1), NominatedLead: ada,
					Leader: events.Person{Name: "Prof. Charles Babbage", Email: "vc@legacy.ac.uk"}, PointOfContact: ada},
			}, nil
		}}); err != nil {
		t.Fatal(err)
	}
	raw := func() string {
		t.Helper()
		evs, err := o.svc.Events.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, e := range evs {
			b.Write(e.Data)
		}
		return b.String()
	}
	ops := o.Token(auth.RoleOps, "")
	before := o.Must(http.StatusOK, o.Do("GET", "/v1/organisations/"+id, ops, nil)).JSON(t)
	testenv.Eventually(t, 10*time.Second, func() error {
		if !slices.ContainsFunc(o.views(t), func(d bson.M) bool { return d["_id"] == id }) {
			return fmt.Errorf("the older organisation is not projected yet")
		}
		return nil
	})

	// (The pass each start runs may have sealed them already; this one then finds
	// nothing to do, and the checks below hold either way.)
	if _, err := o.svc.SealLegacyEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if again, err := o.svc.SealLegacyEvents(ctx); err != nil || again != 0 {
		t.Errorf("sealing again rewrote %d commits (%v), want none", again, err)
	}
	if stored := raw(); strings.Contains(stored, "ada@legacy.ac.uk") || strings.Contains(stored, "Ada Lovelace") || strings.Contains(stored, "Babbage") {
		t.Errorf("after sealing the stored events still show people: %s", stored)
	}
	after := o.Must(http.StatusOK, o.Do("GET", "/v1/organisations/"+id, ops, nil)).JSON(t)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("sealing changed what the organisation reads (-before +after):\n%s", diff)
	}

	got := o.Must(http.StatusOK, o.Do("POST", "/v1/ops/erasures", ops, map[string]any{"email": "ada@legacy.ac.uk"})).JSON(t)
	if fmt.Sprint(got["organisations"]) != fmt.Sprintf("[map[id:%s needs_nominated_lead:true]]", id) {
		t.Fatalf("erasure = %v", got)
	}
	if all := strings.ToLower(o.dump(t) + o.streamText(t, events.StreamSignatory)); strings.Contains(all, "ada lovelace") || strings.Contains(all, "ada@legacy.ac.uk") {
		t.Error("after erasure the older organisation's lead is still readable")
	}
}

// startOn starts another replica of the service, on the same NATS server (and so the
// same register of erasures) as h, with its database at db: the service after a
// restore of its database.
func (h *harness) startOn(t *testing.T, env *testenv.Env, db string) *harness {
	t.Helper()
	return startReplicas(t, env, db, 1)[0]
}

// startReplicas starts n replicas in env at once, as a Deployment's pods start, on
// the database db (a new one if empty).
func startReplicas(t *testing.T, env *testenv.Env, db string, n int) []*harness {
	t.Helper()
	cfg := config.Default()
	cfg.Platform = env.Platform(t, cfg.Platform)
	if db != "" {
		cfg.Platform.Mongo.Database = db
	}
	type started struct {
		svc     *service.Service
		cleanup func()
		err     error
	}
	done := make(chan started, n)
	for range n {
		go func() {
			svc, cleanup, err := service.New(context.Background(), cfg, service.Options{Logger: telemetry.Discard()})
			done <- started{svc, cleanup, err}
		}()
	}
	var out []*harness
	for range n {
		s := <-done
		if s.err != nil {
			t.Fatal(s.err)
		}
		out = append(out, &harness{Client: env.Serve(t, s.svc.Serve, s.cleanup), t: t, js: env.JS, svc: s.svc})
	}
	return out
}

// onboardedForRestore starts the service in an environment of its own (whose NATS
// server, and so register of erasures, replicas started later share), onboards an
// organisation to its announcement, and returns them with an ops token and its id.
func onboardedForRestore(t *testing.T) (*testenv.Env, *harness, string, string) {
	t.Helper()
	env := testenv.NewEnv(t)
	env.Spec = api.Spec
	live := startReplicas(t, env, "", 1)[0]
	ops := live.Token(auth.RoleOps, "")
	id := live.onboard(ops, "announcement")
	live.eventsOf(id, 4)
	return env, live, ops, id
}

// announcements is the versions of the announcements of a person's erasure in the
// service's event log, and who made each.
func (h *harness) announcements(t *testing.T, email string) []string {
	t.Helper()
	held, err := h.svc.Events.Load(context.Background(), "person-"+personal.Subject(email))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range held {
		out = append(out, fmt.Sprintf("%d %s %s", e.Version, e.Type, e.Actor))
	}
	return out
}

// TestAnErasureSinceTheBackupIsMadeAgainAfterARestore: the service's database is
// backed up with an organisation naming its lead; then the lead is erased. A restore
// of the backup brings the lead back in the database (their key, their address in
// the contacts), but not in the register of erasures, which lives in NATS: two
// replicas started on the restored database at once erase them again before they
// serve, tell the other services again, and say so in the audit trail. A later start
// finds nothing to do; and a person named again after the erasure made again is not
// erased by later starts.
func TestAnErasureSinceTheBackupIsMadeAgainAfterARestore(t *testing.T) {
	t.Parallel()
	env, live, ops, id := onboardedForRestore(t)
	const lead = "s.patel@exampleton.ac.uk"
	leadOf := func(h *harness) (string, bool) {
		got := h.Must(http.StatusOK, h.Do("GET", "/v1/organisations/"+id, ops, nil)).JSON(t)
		lead, _ := got["nominated_lead"].(map[string]any)
		email, _ := lead["email"].(string)
		return email, got["needs_nominated_lead"] == true
	}
	held := func(h *harness) []any {
		access := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": lead})).JSON(t)
		orgs, _ := access["organisations"].([]any)
		return orgs
	}

	backup := testenv.BackUp(t, live.svc.DB)
	live.Must(http.StatusOK, live.Do("POST", "/v1/ops/erasures", ops, map[string]any{"email": lead}))
	if email, needs := leadOf(live); email == lead || !needs {
		t.Fatalf("after the erasure the organisation's lead reads %q (needs a lead: %v), want erased", email, needs)
	}
	if got := live.announcements(t, lead); len(got) != 1 {
		t.Fatalf("announcements of the erasure = %v, want one", got)
	}

	// Two replicas start on the restored database at once: each finds the erasure
	// missing, and between them they make it again (once or twice: either is one
	// erasure, each announcement forgotten alike by the other services).
	replicas := startReplicas(t, env, backup, 2)
	restored := replicas[0]
	for _, r := range replicas {
		if email, needs := leadOf(r); email == lead || !needs {
			t.Errorf("after a restore of a backup taken before the erasure the lead reads %q (needs a lead: %v), want erased again", email, needs)
		}
		if got := held(r); len(got) != 0 {
			t.Errorf("after the erasure made again, subject access holds %v, want nothing", got)
		}
	}
	redone := restored.announcements(t, lead)
	if len(redone) == 0 || len(redone) > 2 {
		t.Errorf("announcements in the restored log = %v, want the erasure made again", redone)
	}
	for _, a := range redone {
		if !strings.HasSuffix(a, " "+app.RedoActor) {
			t.Errorf("announcement %q in the restored log, want it made by %s", a, app.RedoActor)
		}
	}

	// A second start finds the log complete.
	again := live.startOn(t, env, backup)
	if got := again.announcements(t, lead); len(got) != len(redone) {
		t.Errorf("a later start on the restored database announced the erasure again: %v, after %v", got, redone)
	}

	// The lead named again after the erasure (a new key) stays through later starts.
	contacts := maps.Clone(form)
	delete(contacts, "signed_on")
	again.Must(http.StatusOK, again.Do("PUT", "/v1/organisations/"+id+"/contacts", ops, contacts))
	named := live.startOn(t, env, backup)
	if email, _ := leadOf(named); email != lead || len(held(named)) != 1 {
		t.Errorf("a person named again after their erasure was made again reads %q after a start, want named", email)
	}
}

// TestErasuresMadeBeforeTheRegisterAreEnteredInIt: a person was erased before the
// register of erasures came (or NATS lost it since: the register is made anew, empty).
// The next start enters that erasure in the register from the event log, so that a
// restore of a backup taken before it still erases the person again.
func TestErasuresMadeBeforeTheRegisterAreEnteredInIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env, live, ops, id := onboardedForRestore(t)
	const lead = "s.patel@exampleton.ac.uk"
	backup := testenv.BackUp(t, live.svc.DB)
	live.Must(http.StatusOK, live.Do("POST", "/v1/ops/erasures", ops, map[string]any{"email": lead}))

	// The register goes (the erasure was made by a release without it, or NATS lost
	// its volumes).
	if err := env.JS.DeleteStream(ctx, events.StreamErasures); err != nil {
		t.Fatal(err)
	}
	upgraded := startReplicas(t, env, live.svc.DB.Name(), 1)[0]
	reg, err := bus.OpenErasureRegister(ctx, env.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := reg.Latest(ctx)
	if err != nil || len(entries) != 1 || entries[0].Subject != personal.Subject(lead) || entries[0].Version != 1 {
		t.Fatalf("after a start with the register gone, it holds %+v (%v), want the erasure of the log", entries, err)
	}
	if got := upgraded.announcements(t, lead); len(got) != 1 {
		t.Errorf("the start entering the erasure in the register made it again: %v", got)
	}

	restored := startReplicas(t, env, backup, 1)[0]
	got := restored.Must(http.StatusOK, restored.Do("GET", "/v1/organisations/"+id, ops, nil)).JSON(t)
	if got["needs_nominated_lead"] != true {
		t.Errorf("after a restore of a backup taken before an erasure the register learnt from the log, the organisation reads %v, want its lead erased", got["nominated_lead"])
	}
}
