package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
)

// Scenario is one run: a workload, the faults injected while it runs, and the checks after.
type Scenario struct {
	Name     string
	Workload Workload
	Faults   Faults
	// Poison publishes a message notify can never handle before the workload starts.
	Poison bool
	// Relay, after the workload, recreates a relay that published and crashed before
	// marking, with the service down for longer than JetStream's duplicate window, for
	// this many applications' commits.
	Relay int
	// Seed makes the fault schedule repeatable.
	Seed uint64
	// Settle bounds how long the end state may take to appear after the workload.
	Settle time.Duration
}

// Report is what a scenario measured. Lost and Duplicated must be empty.
type Report struct {
	Scenario   string
	Units      int
	Ops        int
	Stats      opStats
	Duration   time.Duration
	Faults     string
	Emails     int
	Expected   int
	Lost       []string
	Duplicated []string
	// Resent are emails sent twice under one Message-ID: the sender died after the
	// relay accepted the message and before it recorded that, and the takeover sent
	// it again. SMTP has no two-phase commit, so this is at-least-once by design, and
	// mail clients show such copies once; they are counted apart from duplicates.
	Resent []string
	// Overtaken are receipts notify gave up on purpose, as its rules say: a later
	// attempt found the application decided, and the award had reached the person.
	Overtaken []string
	P50, P99  time.Duration
	MaxDelay  time.Duration
	Failed    []string // units the workload could not finish, with why
	Poison    string
	Relay     string
}

// OK reports whether nothing was lost, duplicated or left unfinished.
func (r *Report) OK() bool { return len(r.Lost) == 0 && len(r.Duplicated) == 0 && len(r.Failed) == 0 }

// Problems lists everything that went wrong, for a test failure.
func (r *Report) Problems() string {
	var b strings.Builder
	for _, l := range [][]string{r.Failed, r.Lost, r.Duplicated} {
		for i, p := range l {
			if i == 20 {
				fmt.Fprintf(&b, "  … and %d more\n", len(l)-20)
				break
			}
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}
	return b.String()
}

// Run drives the scenario against a running stack.
func Run(ctx context.Context, s *Stack, sc Scenario) (*Report, error) {
	c := newClient()
	ops := s.Token(auth.Principal{Subject: "ops-reliability", Role: auth.RoleOps, Name: "Reliability Ops"})
	rep := &Report{Scenario: sc.Name, Units: sc.Workload.Units}

	var poisonID string
	if sc.Poison {
		var err error
		if poisonID, err = publishPoison(ctx, s); err != nil {
			return nil, err
		}
	}

	fctx, stopFaults := context.WithCancel(ctx)
	flog := sc.Faults.inject(fctx, s, sc.Seed)
	out, err := sc.Workload.run(ctx, s, c, ops)
	stopFaults()
	flog.wait()
	if err != nil {
		return nil, err
	}
	if len(flog.errs) > 0 {
		return nil, fmt.Errorf("injecting faults: %w", errors.Join(flog.errs...))
	}
	rep.Faults = flog.String()
	if exits := s.SelfExits(); len(exits) > 0 {
		rep.Faults += fmt.Sprintf("; services that exited by themselves and were restarted: %v", exits)
	}
	rep.Units, rep.Ops, rep.Stats, rep.Duration = len(out.units), out.ops, out.stats, out.duration
	for _, u := range out.units {
		if u.err != nil {
			rep.Failed = append(rep.Failed, fmt.Sprintf("unit %d: %v", u.n, u.err))
		}
	}
	if err := s.WaitReady(ctx, time.Minute); err != nil {
		return nil, err
	}

	want := expectedMail(out.units)
	gaveUp := func() map[string]string {
		g, err := givenUpReceipts(ctx, s, c, ops)
		if err != nil {
			return nil // read again at the count, where an error is a loss
		}
		return g
	}
	waitForMail(ctx, s.Mail, want, gaveUp, sc.Settle)
	t := &tally{}
	checkState(ctx, s, c, ops, out, t, sc.Settle)
	if err := quiesce(ctx, s, sc.Settle); err != nil {
		t.lose("consumers did not catch up: %v", err)
		s.DumpStacks() // into the services' logs, to see what they wait for
		if err := s.WaitReady(ctx, time.Minute); err != nil {
			return nil, err
		}
	}
	overtaken, err := givenUpReceipts(ctx, s, c, ops)
	if err != nil {
		t.lose("%v", err)
	}
	checkMail(t, s.Mail.Messages(), want, overtaken)
	checkAssignments(ctx, s, c, ops, out, t, sc.Settle)
	rep.Emails, rep.Expected = t.emails, t.expectedEmails
	rep.P50, rep.P99, rep.MaxDelay = percentile(t.delays, .5), percentile(t.delays, .99), percentile(t.delays, 1)

	if sc.Poison {
		rep.Poison, err = checkPoison(ctx, s, c, ops, poisonID, t)
		if err != nil {
			t.lose("poison message: %v", err)
		}
	}
	checkNoOtherDeadLetters(ctx, s, c, ops, poisonID, t)

	if sc.Relay > 0 {
		rep.Relay, err = relayCrash(ctx, s, out, sc.Relay)
		if err != nil {
			return nil, fmt.Errorf("relay scenario: %w", err)
		}
		after := &tally{}
		checkState(ctx, s, c, ops, out, after, sc.Settle)
		if err := quiesce(ctx, s, sc.Settle); err != nil { // the duplicates are handled
			after.lose("consumers did not catch up: %v", err)
		}
		overtaken, err := givenUpReceipts(ctx, s, c, ops)
		if err != nil {
			after.lose("%v", err)
		}
		checkMail(after, s.Mail.Messages(), want, overtaken)
		checkAssignments(ctx, s, c, ops, out, after, sc.Settle)
		t.lost = append(t.lost, after.lost...)
		t.duplicated, t.resent, t.overtaken = after.duplicated, after.resent, after.overtaken // the later count includes the earlier one
	}
	rep.Lost, rep.Duplicated, rep.Resent, rep.Overtaken = t.lost, t.duplicated, t.resent, t.overtaken
	return rep, nil
}

// publishPoison publishes, as if from the fund, an application-submitted event whose
// payload no consumer can decode: notify must dead-letter it with the reason and go on
// with the messages behind it.
func publishPoison(ctx context.Context, s *Stack) (string, error) {
	js, closeJS, err := s.JetStream()
	if err != nil {
		return "", err
	}
	defer closeJS()
	id := uuid.NewString()
	e := events.Envelope{ID: id, Source: "/tc/fund", Type: events.ApplicationSubmittedV1{}.EventType(), AggregateType: "application",
		AggregateID: "poison-" + id, Version: 1, Time: time.Now(), Actor: "reliability:poison", Data: json.RawMessage(`{"title":42,"requested_amount_pence":"lots"}`)}
	if _, err := js.PublishMsg(ctx, bus.Message(e)); err != nil {
		return "", fmt.Errorf("publish poison: %w", err)
	}
	return id, nil
}

type letter struct {
	Sequence   uint64 `json:"sequence"`
	Consumer   string `json:"consumer"`
	EventID    string `json:"event_id"`
	Reason     string `json:"reason"`
	Deliveries int    `json:"deliveries"`
}

func deadLetters(ctx context.Context, s *Stack, c *client, ops, service string) ([]letter, error) {
	r, err := c.do(ctx, http.MethodGet, s.Addr[service]+"/v1/ops/dead-letters?limit=100", ops, nil, nil)
	if err != nil || r.status != http.StatusOK {
		return nil, fmt.Errorf("list %s dead letters: %v %s", service, err, r)
	}
	var l struct{ Items []letter }
	return l.Items, r.decode(&l)
}

// checkPoison finds the poison message in notify's dead letters with its reason, and
// replays it through the API: still undecodable, it stays a dead letter.
func checkPoison(ctx context.Context, s *Stack, c *client, ops, id string, t *tally) (string, error) {
	var found letter
	err := eventually(ctx, 30*time.Second, func() error {
		ls, err := deadLetters(ctx, s, c, ops, "notify")
		if err != nil {
			return err
		}
		for _, l := range ls {
			if l.EventID == id {
				found = l
				return nil
			}
		}
		return fmt.Errorf("poison %s not among notify's %d dead letters", id, len(ls))
	})
	if err != nil {
		return "", err
	}
	if found.Reason == "" {
		return "", errors.New("the dead letter carries no reason")
	}
	r, err := c.do(ctx, http.MethodPost, fmt.Sprintf("%s/v1/ops/dead-letters/%d/replays", s.Addr["notify"], found.Sequence), ops, nil, nil)
	if err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	if r.status < 400 {
		return "", fmt.Errorf("replaying an undecodable message answered %s", r)
	}
	ls, err := deadLetters(ctx, s, c, ops, "notify")
	if err != nil {
		return "", err
	}
	kept := false
	for _, l := range ls {
		kept = kept || l.EventID == id
	}
	if !kept {
		return "", errors.New("the failed replay removed the dead letter")
	}
	return fmt.Sprintf("dead-lettered by %s after %d deliveries (reason: %q); replay through the API answered %d and kept it; every message behind it was handled",
		found.Consumer, found.Deliveries, found.Reason, r.status), nil
}

// checkNoOtherDeadLetters: under faults, a message may be redelivered but must never
// be given up on; a dead letter other than the poison is a lost effect.
func checkNoOtherDeadLetters(ctx context.Context, s *Stack, c *client, ops, poisonID string, t *tally) {
	for _, svc := range Services {
		ls, err := deadLetters(ctx, s, c, ops, svc)
		if err != nil {
			t.lose("%v", err)
			continue
		}
		for _, l := range ls {
			if l.EventID != poisonID {
				t.lose("%s dead-lettered event %s in %s: %s", svc, l.EventID, l.Consumer, l.Reason)
			}
		}
	}
}

// relayCrash recreates "the relay published, then crashed before marking, and stayed
// down beyond JetStream's duplicate window": with the fund killed, it hands the commits
// of n applications back to the relay, shrinks TC_FUND's duplicate window so the
// earlier copies are forgotten, and starts the fund again. The republished events reach
// the stream and the consumers as duplicates; the caller checks they had no effect.
func relayCrash(ctx context.Context, s *Stack, out *outcome, n int) (string, error) {
	var ids []string
	for _, u := range out.units {
		if u.awarded && len(ids) < n {
			ids = append(ids, u.appID)
		}
	}
	for _, u := range out.units {
		if !u.awarded && !u.submittedAt.IsZero() && len(ids) < n {
			ids = append(ids, u.appID)
		}
	}
	s.Kill("fund")

	js, closeJS, err := s.JetStream()
	if err != nil {
		return "", err
	}
	defer closeJS()
	stream, err := js.Stream(ctx, events.StreamFund)
	if err != nil {
		return "", err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return "", err
	}
	before := info.State.Msgs
	window := info.Config.Duplicates
	if err := shrinkDuplicateWindow(ctx, js, info.Config, 500*time.Millisecond); err != nil {
		return "", err
	}

	client, err := mongo.Connect(options.Client().ApplyURI(s.MongoURI()))
	if err != nil {
		return "", err
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	es, err := store.NewEventStore(ctx, client.Database(s.Database("fund")), "events", "/tc/fund", clock.System{})
	if err != nil {
		return "", err
	}
	commits, err := es.Republish(ctx, ids)
	if err != nil {
		return "", err
	}
	time.Sleep(2 * time.Second) // beyond the (shrunk) window: JetStream forgets the ids
	if err := s.Restart("fund"); err != nil {
		return "", err
	}
	if err := s.WaitReady(ctx, time.Minute); err != nil {
		return "", err
	}
	var republished uint64
	// Every commit holds at least one event: wait for at least that many copies.
	err = eventually(ctx, time.Minute, func() error {
		info, err := stream.Info(ctx)
		if err != nil {
			return err
		}
		republished = info.State.Msgs - before
		if republished < uint64(commits) { // #nosec G115 -- commits counts stored commits, never negative
			return fmt.Errorf("%d events of %d commits republished so far", republished, commits)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if republished == 0 {
		return "", errors.New("no republished event reached the stream: the duplicate window still covered them")
	}
	return fmt.Sprintf("%d commits of %d applications handed back to the relay with the fund down beyond the duplicate window (%s, shrunk to 500ms); %d duplicate events reached TC_FUND and its consumers",
		commits, len(ids), window, republished), nil
}
