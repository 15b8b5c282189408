package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// round publishes one review round's events as the review service would, numbering
// the round's versions on from the last, and waits until notify has taken them in.
type round struct {
	h       *harness
	id      string
	version int
}

func (h *harness) round(id string) *round {
	h.t.Helper()
	if _, err := bus.EnsureStream(context.Background(), h.env.JS, bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}); err != nil {
		h.t.Fatal(err)
	}
	return &round{h: h, id: id}
}

func (r *round) publish(ps ...events.Payload) {
	r.h.t.Helper()
	var last *jetstream.PubAck
	var subject string
	for _, p := range ps {
		r.version++
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: fmt.Sprintf("%s-v%d", r.id, r.version), Source: "/tc/review", Type: p.EventType(), AggregateType: "review_round",
			AggregateID: r.id, Version: r.version, Time: r.h.clock.Now(), Data: data}
		m := bus.Message(e)
		ack, err := r.h.env.JS.PublishMsg(context.Background(), m)
		if err != nil {
			r.h.t.Fatal(err)
		}
		last, subject = ack, m.Subject
	}
	if last == nil {
		return
	}
	testenv.ConsumedThrough(r.h.t, r.h.env.JS, events.StreamReview, "notify-review", subject, last.Sequence)
}

// again publishes the round's event of version v again under a fresh message id, as
// JetStream would after a lost ack.
func (r *round) again(v int, p events.Payload) {
	r.h.t.Helper()
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: fmt.Sprintf("%s-v%d", r.id, v), Source: "/tc/review", Type: p.EventType(), AggregateType: "review_round",
		AggregateID: r.id, Version: v, Time: r.h.clock.Now(), Data: data}
	m := bus.Message(e)
	m.Header.Set("Nats-Msg-Id", fmt.Sprintf("%s-again-%d", e.ID, time.Now().UnixNano()))
	if _, err := r.h.env.JS.PublishMsg(context.Background(), m); err != nil {
		r.h.t.Fatal(err)
	}
	r.h.waitForConsumer(events.StreamReview, "notify-review")
}

// reviewer is one volunteer on one submission, and the events about them.
type reviewer struct {
	round, roundName, sub, org, orgName, id, name, email string
	deadline                                             time.Time
}

func (v reviewer) assigned() events.ReviewerAssignedV1 {
	return events.ReviewerAssignedV1{RoundID: v.round, RoundName: v.roundName, SubmissionID: v.sub, OrganisationID: v.org, OrganisationName: v.orgName,
		ReviewerID: v.id, ReviewerName: v.name, ReviewerEmail: v.email, ReviewDeadline: v.deadline}
}

func (v reviewer) accepted() events.AssignmentAcceptedV1 {
	return events.AssignmentAcceptedV1{RoundID: v.round, RoundName: v.roundName, SubmissionID: v.sub, OrganisationID: v.org, OrganisationName: v.orgName,
		ReviewerID: v.id, ReviewerName: v.name, ReviewerEmail: v.email, ReviewDeadline: v.deadline}
}

func (v reviewer) submitted(resubmission bool) events.ReviewSubmittedV1 {
	return events.ReviewSubmittedV1{RoundID: v.round, RoundName: v.roundName, SubmissionID: v.sub, OrganisationID: v.org, OrganisationName: v.orgName,
		ReviewerID: v.id, ReviewerName: v.name, ReviewerEmail: v.email, ReviewDeadline: v.deadline, Summary: "A clear plan.", Resubmission: resubmission}
}

func (v reviewer) returned(reason string) events.ReviewReturnedV1 {
	return events.ReviewReturnedV1{RoundID: v.round, RoundName: v.roundName, SubmissionID: v.sub, OrganisationID: v.org, OrganisationName: v.orgName,
		ReviewerID: v.id, ReviewerName: v.name, ReviewerEmail: v.email, ReviewDeadline: v.deadline, Reason: reason}
}

func (v reviewer) overdue() events.ReviewOverdueV1 {
	return events.ReviewOverdueV1{RoundID: v.round, RoundName: v.roundName, SubmissionID: v.sub, OrganisationID: v.org, OrganisationName: v.orgName,
		ReviewerID: v.id, ReviewerName: v.name, ReviewerEmail: v.email, ReviewDeadline: v.deadline}
}

func (v reviewer) on(sub string) reviewer { v.sub = sub; return v }

func (v reviewer) as(id, name string) reviewer {
	v.id, v.name, v.email = id, name, strings.ToLower(strings.Fields(name)[0])+"@othertown.ac.uk"
	return v
}

// mailTo lists the emails to one address from its n-th on, in the order they arrived.
func mailTo(h *harness, email string, from int) []received {
	var out []received
	for _, m := range h.box.all() {
		if strings.Join(m.To, ",") == email {
			out = append(out, m)
		}
	}
	if from > len(out) {
		return nil
	}
	return out[from:]
}

func subjects(ms []received) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}

// A review ops return is told to its reviewer once: which round and institution's
// submission, ITSS's reason, that it does not count until revised and resubmitted,
// the deadline (with an .ics while it is ahead) and the review's page. The reminder
// before the deadline restarts for it, and so does the overdue chase, until the
// revised review is in; a revised review stops them.
func TestAReturnedReviewIsToldOnceWithTheReasonAndRemindedUntilTheRevisionIsIn(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboardAs("rt", "University of Rt", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	r := h.round("r1")
	rita := reviewer{round: "r1", roundName: "Spring 2027", sub: "s1", org: "rt", orgName: "University of Rt", deadline: time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)}.as("rita", "Rita Reviewer")
	rob := rita.as("rob", "Rob Reviewer")
	reason := "Please say what the evidence of the technician voice shows, theme by theme."
	r.publish(rita.assigned(), rob.assigned(), rita.accepted(), rob.accepted(), rita.submitted(false), rob.submitted(false),
		rita.returned(reason), rob.returned("Score every theme."), rob.submitted(true))
	returnedAt := r.version - 2
	r.again(returnedAt, rita.returned(reason)) // redelivered: told once

	got := mailTo(h, rita.email, 0)
	if len(got) != 2 {
		t.Fatalf("rita received %q, want the assignment and one email telling of the return", subjects(got))
	}
	told := got[1]
	if told.Subject != "Technician Commitment peer review (Spring 2027): your review of University of Rt's submission is returned for revision, due Monday 31 May 2027, 17:00 BST" {
		t.Errorf("subject: %q", told.Subject)
	}
	checkSays(t, told, "Dear Rita Reviewer,", "Spring 2027", "University of Rt's submission in the peer review round “Spring 2027”", "Their reason: "+reason,
		"Your review does not count towards the feedback to the institution until you revise and resubmit it.",
		"Please resubmit it by the round's deadline, Monday 31 May 2027, 17:00 BST.", "https://portal.example.org/reviews/r1/s1")
	if !told.ICS || !strings.Contains(told.ICSBody, "DTSTART:20270531T160000Z") || !strings.Contains(told.ICSBody, "reviews/r1/s1") {
		t.Errorf("the return's email carries no .ics of the deadline:\n%s", told.ICSBody)
	}

	// Seven days before the deadline Rita, whose revised review is not in, is reminded;
	// Rob, who resubmitted, is not.
	h.runUntil(civil.New(2027, 5, 24))
	got = mailTo(h, rita.email, 2)
	if len(got) != 1 || got[0].Subject != "Technician Commitment peer review (Spring 2027): your revised review of University of Rt's submission is due in 7 days (Monday 31 May 2027, 17:00 BST)" {
		t.Fatalf("on the reminder day rita received %q, want the reminder of her revised review", subjects(got))
	}
	checkSays(t, got[0], "returned your review", "does not count", "https://portal.example.org/reviews/r1/s1")
	if !got[0].ICS {
		t.Error("the reminder carries no .ics")
	}

	// Revised, returned again after the reminder day (that email gives the deadline),
	// never revised: the overdue chase says the revised review is outstanding.
	h.runUntil(civil.New(2027, 5, 25))
	r.publish(rita.submitted(true))
	h.runUntil(civil.New(2027, 5, 26))
	r.publish(rita.returned("The recommendations are missing."))
	h.runUntil(civil.New(2027, 6, 1))
	r.publish(rita.overdue())
	h.runUntil(civil.New(2027, 6, 3))
	want := []string{
		"Technician Commitment peer review (Spring 2027): your review of University of Rt's submission is returned for revision, due Monday 31 May 2027, 17:00 BST",
		"Technician Commitment peer review (Spring 2027): your review of University of Rt's submission is overdue",
	}
	got = mailTo(h, rita.email, 3)
	if diff := cmp.Diff(want, subjects(got)); diff != "" {
		t.Fatalf("rita's emails after her revision (-want +got):\n%s", diff)
	}
	checkSays(t, got[0], "Their reason: The recommendations are missing.")
	checkSays(t, got[1], "the revised review is still outstanding", "https://portal.example.org/reviews/r1/s1")

	want = []string{
		"Technician Commitment peer review (Spring 2027): University of Rt's submission is assigned to you, due Monday 31 May 2027, 17:00 BST",
		"Technician Commitment peer review (Spring 2027): your review of University of Rt's submission is returned for revision, due Monday 31 May 2027, 17:00 BST",
	}
	if diff := cmp.Diff(want, subjects(mailTo(h, rob.email, 0))); diff != "" {
		t.Errorf("rob, who resubmitted at once (-want +got):\n%s", diff)
	}
}

// Once a round is closed no reminder or chase of a review not in is sent, a chase
// queued when the close arrives included (one handled late, one the relay refused and
// is retried); each reviewer who accepted and had not reviewed is told once, naming
// the round, that the review is no longer needed, and so is each reviewer asked who
// had not yet accepted (the round's close, not the chase, now cancels their deadline).
// A reviewer who never accepted, whose chase saying so was queued when the round
// closed, is sent that chase, once: it is still true, and it cancels their deadline.
// A review returned after the close is told as the truth then stands: revisions are
// still taken until the feedback is released.
func TestAClosedRoundStopsRemindersAndChasesAndTellsWhoWasAskedTheirReviewIsNoLongerNeeded(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboardAs("cl", "University of Cl", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	base := reviewer{round: "r2", roundName: "Autumn 2027", sub: "s2", org: "cl", orgName: "University of Cl", deadline: time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)}
	ann, bob, cat, dan := base.as("ann", "Ann Reviewer"), base.as("bob", "Bob Reviewer"), base.as("cat", "Cat Reviewer"), base.as("dan", "Dan Reviewer")
	ann3 := ann.on("s3")
	r2 := h.round("r2")
	r2.publish(ann.assigned(), ann3.assigned(), bob.assigned(), cat.assigned(), dan.assigned(),
		ann.accepted(), ann3.accepted(), bob.accepted(), dan.accepted(), bob.submitted(false), dan.submitted(false))

	// Round r3's deadline passes first; its chases of Fay, who never accepted, and of
	// Gus, who did, are refused by the relay for now.
	fay := reviewer{round: "r3", roundName: "Pilot 2027", sub: "s9", org: "cl", orgName: "University of Cl", deadline: time.Date(2027, 4, 30, 16, 0, 0, 0, time.UTC)}.as("fay", "Fay Reviewer")
	gus := fay.as("gus", "Gus Reviewer")
	r3 := h.round("r3")
	r3.publish(fay.assigned(), gus.assigned(), gus.accepted())
	h.runUntil(civil.New(2027, 5, 1))
	h.box.tryLater(fay.email, gus.email)
	r3.publish(fay.overdue(), gus.overdue())
	r3.publish(events.ReviewRoundClosedV1{RoundID: "r3", RoundName: "Pilot 2027", ReviewDeadline: fay.deadline})
	h.box.tryLater()
	h.clock.Advance(time.Hour)
	h.runUntil(civil.New(2027, 5, 2))
	if got, want := subjects(mailTo(h, fay.email, 2)), []string{"Technician Commitment peer review (Pilot 2027): the deadline for University of Cl's submission passed before you accepted it"}; !cmp.Equal(got, want) {
		t.Errorf("fay, whose chase was queued when her round closed, received %q after her assignment and reminder, want %q", got, want)
	} else if e := calendarOf(t, mailTo(h, fay.email, 2)[0]); e.method != "CANCEL" {
		t.Errorf("fay's chase carries a calendar %+v, want the deadline's cancellation", e)
	}
	if got, want := subjects(mailTo(h, gus.email, 2)), []string{"Technician Commitment peer review (Pilot 2027): the round is closed; your review is no longer needed"}; !cmp.Equal(got, want) {
		t.Errorf("gus, whose chase was queued when his round closed, received %q after his assignment and reminder, want %q", got, want)
	}
	given := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=cl&status=given_up", h.http.Token(auth.RoleOps, ""), nil)).JSON(t)["items"].([]any)
	if len(given) != 1 || !strings.Contains(given[0].(map[string]any)["last_error"].(string), "closed") {
		t.Errorf("the queued chase: %v, want given up because the round is closed", given)
	}

	// Round r2 closes before its reminder day.
	h.runUntil(civil.New(2027, 5, 20))
	before := len(h.box.all())
	closed := events.ReviewRoundClosedV1{RoundID: "r2", RoundName: "Autumn 2027", ReviewDeadline: base.deadline}
	r2.publish(closed)
	r2.again(r2.version, closed)
	r2.publish(dan.returned("The scores do not match the comments."))
	h.runUntil(civil.New(2027, 6, 1))
	r2.publish(ann.overdue(), cat.overdue()) // handled after the close: not sent
	h.runUntil(civil.New(2027, 6, 5))

	var got []string
	for _, m := range h.box.all()[before:] {
		got = append(got, strings.Join(m.To, ",")+": "+m.Subject)
	}
	want := []string{
		"ann@othertown.ac.uk: Technician Commitment peer review (Autumn 2027): the round is closed; your reviews are no longer needed",
		"cat@othertown.ac.uk: Technician Commitment peer review (Autumn 2027): the round is closed; no review of University of Cl's submission is needed from you",
		"dan@othertown.ac.uk: Technician Commitment peer review (Autumn 2027): your review of University of Cl's submission is returned for revision",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("emails from the close on (-want +got):\n%s", diff)
	}
	ms := h.box.all()[before:]
	checkSays(t, ms[0], "Dear Ann Reviewer,", "ITSS closed the peer review round “Autumn 2027” on Thursday 20 May 2027.",
		"your reviews of University of Cl's 2 submissions are no longer needed, and you will not be reminded of them again.", "https://portal.example.org/reviews")
	checkSays(t, ms[1], "Dear Cat Reviewer,", "You had not accepted the assignment to review University of Cl's submission, so no review of it is needed from you")
	checkSays(t, ms[2], "Their reason: The scores do not match the comments.", "does not count",
		"The round is closed to new reviews, but ITSS still takes your revised review until the feedback on University of Cl's submission is released.",
		"https://portal.example.org/reviews/r2/s2")
	if ms[2].ICS {
		t.Error("the return after the close carries an .ics of a deadline that no longer applies")
	}
}

// A review withheld from the feedback is told to nobody, unless it was returned for a
// revision: the review service takes no revision of a withheld review, so its reviewer
// is told none is needed, once, and is reminded no more (they were reminded to send
// one it would refuse).
func TestAWithheldReviewIsToldOnlyToAReviewerAskedForARevision(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboardAs("wh", "University of Wh", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	base := reviewer{round: "r5", roundName: "Spring 2027", sub: "s5", org: "wh", orgName: "University of Wh", deadline: time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)}
	gil, hal := base.as("gil", "Gil Reviewer"), base.as("hal", "Hal Reviewer")
	r := h.round("r5")
	r.publish(gil.assigned(), hal.assigned(), gil.accepted(), hal.accepted(), gil.submitted(false), hal.submitted(false), hal.returned("Too short."))
	before := len(h.box.all())
	offTopic := events.ReviewWithheldV1{RoundID: "r5", SubmissionID: "s5", OrganisationID: "wh", ReviewerID: "hal", Reason: "Off topic."}
	r.publish(events.ReviewWithheldV1{RoundID: "r5", SubmissionID: "s5", OrganisationID: "wh", ReviewerID: "gil", Reason: "Identifies the institution."}, offTopic)
	r.again(r.version, offTopic) // heard twice: told once
	got := h.box.all()[before:]
	if len(got) != 1 || strings.Join(got[0].To, ",") != hal.email {
		t.Fatalf("withholding the reviews sent %q, want one email to Hal", subjects(got))
	}
	checkSays(t, got[0], "Dear Hal Reviewer,", "no revision of it is needed", "Their reason: Off topic.", "University of Wh's submission")
	h.runUntil(civil.New(2027, 6, 5))
	for _, m := range h.box.all()[before+1:] {
		if strings.Contains(m.Subject, "peer review") {
			t.Errorf("after the reviews were withheld: %s: %s", strings.Join(m.To, ","), m.Subject)
		}
	}
}

// Events from before the round's status and moderation carried names and contacts
// still give true emails: what they leave out is taken from notify's own records
// (the assignment as made, the organisations' read model).
func TestOlderReviewEventsWithoutTheNewFieldsStillGiveTrueEmails(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("ol", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	deadline := time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)
	r := h.round("r4")
	older := func(id, name string) events.ReviewerAssignedV1 {
		return events.ReviewerAssignedV1{RoundID: "r4", SubmissionID: "s4", OrganisationID: "ol", ReviewerID: id, ReviewerName: name,
			ReviewerEmail: id + "@othertown.ac.uk", ReviewDeadline: deadline}
	}
	r.publish(older("ivy", "Ivy Reviewer"), older("jon", "Jon Reviewer"),
		events.AssignmentAcceptedV1{RoundID: "r4", SubmissionID: "s4", ReviewerID: "ivy"},
		events.AssignmentAcceptedV1{RoundID: "r4", SubmissionID: "s4", ReviewerID: "jon"},
		events.ReviewSubmittedV1{RoundID: "r4", SubmissionID: "s4", ReviewerID: "ivy", Summary: "Fine."},
		events.ReviewReturnedV1{RoundID: "r4", SubmissionID: "s4", ReviewerID: "ivy", Reason: "Say more on recognition."})
	got := mailTo(h, "ivy@othertown.ac.uk", 1)
	if len(got) != 1 {
		t.Fatalf("ivy received %q after the older return, want one email", subjects(got))
	}
	checkSays(t, got[0], "Dear Ivy Reviewer,", "Uni ol's submission in the peer review round “round r4”", "round r4", "Their reason: Say more on recognition.",
		"Please resubmit it by the round's deadline, Monday 31 May 2027, 17:00 BST.", "https://portal.example.org/reviews/r4/s4")
	if !got[0].ICS {
		t.Error("no .ics of the deadline")
	}

	// A revision without the resubmission flag is a review in all the same; a close
	// without the round's name still names it.
	r.publish(events.ReviewSubmittedV1{RoundID: "r4", SubmissionID: "s4", ReviewerID: "ivy", Summary: "More on recognition."})
	h.runUntil(civil.New(2027, 5, 25))
	if got := mailTo(h, "ivy@othertown.ac.uk", 2); len(got) != 0 {
		t.Errorf("ivy, whose revised review is in, received %q", subjects(got))
	}
	before := len(h.box.all())
	r.publish(events.ReviewRoundClosedV1{RoundID: "r4"})
	h.runUntil(civil.New(2027, 6, 5))
	var all []string
	for _, m := range h.box.all()[before:] {
		all = append(all, strings.Join(m.To, ",")+": "+m.Subject)
	}
	want := []string{"jon@othertown.ac.uk: Technician Commitment peer review (round r4): the round is closed; your review is no longer needed"}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Fatalf("emails from the close on (-want +got):\n%s", diff)
	}
	checkSays(t, h.box.all()[before], "Dear Jon Reviewer,", "your review of Uni ol's submission is no longer needed", "https://portal.example.org/reviews/r4/s4")
}

// An email telling of a return that the relay refused is retried only while it is
// true: once the revised review is in, the retry is given up, not sent.
func TestARetriedReturnIsGivenUpOnceTheRevisionIsIn(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("rr", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	kim := reviewer{round: "r6", roundName: "Spring 2027", sub: "s6", org: "rr", orgName: "University of Rr", deadline: time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)}.as("kim", "Kim Reviewer")
	r := h.round("r6")
	r.publish(kim.assigned(), kim.accepted(), kim.submitted(false))
	h.box.mu.Lock()
	h.box.refuse = func(string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	}
	h.box.mu.Unlock()
	r.publish(kim.returned("Too short."))
	// The return's first attempt must have met the refusal before it is lifted: the
	// consumer's ack does not wait for the attempt.
	ops := h.http.Token(auth.RoleOps, "")
	testenv.Eventually(t, 10*time.Second, func() error {
		failed := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=rr&status=failed", ops, nil)).JSON(t)["items"].([]any)
		if len(failed) != 1 {
			return fmt.Errorf("the return's refused attempt is not recorded yet: %v", failed)
		}
		return nil
	})
	h.box.mu.Lock()
	h.box.refuse = nil
	h.box.mu.Unlock()
	r.publish(kim.submitted(true))
	h.clock.Advance(time.Hour)
	h.runUntil(civil.New(2027, 4, 2))
	if got := mailTo(h, kim.email, 1); len(got) != 0 {
		t.Errorf("kim, whose revised review is in, received %q", subjects(got))
	}
	given := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=rr&status=given_up", h.http.Token(auth.RoleOps, ""), nil)).JSON(t)["items"].([]any)
	if len(given) != 1 || !strings.Contains(given[0].(map[string]any)["last_error"].(string), "no longer true") {
		t.Errorf("the refused return: %v, want given up as no longer true", given)
	}
}

// Two replicas take in returns and revisions side by side, some heard of in the
// reverse of the order they happened in: the round's versions settle where each
// review stands, so nobody whose revised review is in is reminded, and nobody is told
// of a return twice, or of one they had already answered.
func TestReturnsAndRevisionsHandledByTwoReplicasInAnyOrderSettleTheSame(t *testing.T) {
	t.Parallel()
	h := start(t, 2, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("rc", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	base := reviewer{round: "r8", roundName: "Spring 2027", sub: "s8", org: "rc", orgName: "University of Rc", deadline: time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)}
	r := h.round("r8")
	var vs []reviewer
	for i := range 12 {
		v := base.as(fmt.Sprintf("v%02d", i), fmt.Sprintf("V%02d Reviewer", i))
		vs = append(vs, v)
		r.publish(v.assigned(), v.accepted(), v.submitted(false))
	}
	// All at once: half returned then revised, half whose revision notify hears of
	// before the return it answers (the return has the lower version).
	var ps []events.Payload
	for i, v := range vs {
		if i%2 == 0 {
			ps = append(ps, v.returned("Too short."), v.submitted(true))
		}
	}
	r.publish(ps...)
	for i, v := range vs {
		if i%2 == 1 {
			r.version += 2
			revised := r.version
			r.again(revised, v.submitted(true))
			r.again(revised-1, v.returned("Too short."))
		}
	}
	h.runUntil(civil.New(2027, 5, 25))
	for i, v := range vs {
		got := mailTo(h, v.email, 1)
		for _, m := range got {
			if !strings.Contains(m.Subject, "returned for revision") {
				t.Errorf("%s, whose revised review is in, received %q", v.name, m.Subject)
			}
		}
		if len(got) > 1 || (i%2 == 1 && len(got) != 0) {
			t.Errorf("%s received %q", v.name, subjects(got))
		}
	}
}

// A reviewer who declined and was asked again, and accepted, is told at the close
// that the review is no longer needed: the second assignment is a fresh one.
func TestAReviewerAskedAgainAfterDecliningIsToldAtTheCloseTheirReviewIsNoLongerNeeded(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("ag", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	lee := reviewer{round: "r7", roundName: "Spring 2027", sub: "s7", org: "ag", orgName: "University of Ag", deadline: time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)}.as("lee", "Lee Reviewer")
	r := h.round("r7")
	r.publish(lee.assigned(), events.AssignmentDeclinedV1{RoundID: "r7", SubmissionID: "s7", ReviewerID: "lee", Reason: "leave"}, lee.assigned(), lee.accepted())
	before := len(mailTo(h, lee.email, 0))
	r.publish(events.ReviewRoundClosedV1{RoundID: "r7", RoundName: "Spring 2027", ReviewDeadline: lee.deadline})
	want := []string{"Technician Commitment peer review (Spring 2027): the round is closed; your review is no longer needed"}
	// A message the consumer put back for a moment (a busy database) is not counted by
	// the wait for the consumer: the email is waited for, and must then be the only one.
	testenv.Eventually(t, 10*time.Second, func() error {
		if diff := cmp.Diff(want, subjects(mailTo(h, lee.email, before))); diff != "" {
			return fmt.Errorf("lee's emails at the close (-want +got):\n%s", diff)
		}
		return nil
	})
}

// Ops resending a reviewer's email that is no longer true (a reminder of a review
// already in, or the assignment of a round since closed) are refused with 409 saying
// why, before any attempt: nothing is sent or given up.
func TestAResendOfAReviewEmailNoLongerTrueIsRefused(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 5, 20, 8, 0, 0, 0, time.UTC))
	h.onboardAs("rz", "University of Rz", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	kim := reviewer{round: "r8", roundName: "Spring 2027", sub: "s8", org: "rz", orgName: "University of Rz", deadline: time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)}.as("kim", "Kim Reviewer")
	r := h.round("r8")
	r.publish(kim.assigned(), kim.accepted())
	h.runUntil(civil.New(2027, 5, 24)) // the reminder 7 days before the deadline
	ops := h.http.Token(auth.RoleOps, "")
	ids := map[string]string{}
	for _, it := range h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=rz", ops, nil)).JSON(t)["items"].([]any) {
		if d := it.(map[string]any); strings.HasPrefix(d["kind"].(string), "review-") {
			ids[d["kind"].(string)] = d["id"].(string)
		}
	}
	if ids["review-assigned"] == "" || ids["review-due-soon"] == "" {
		t.Fatalf("the assignment and its reminder are not both in the log: %v", ids)
	}
	r.publish(kim.submitted(false))
	before := len(h.box.all())
	refused := func(kind, why string) {
		t.Helper()
		res := h.http.Do("POST", "/v1/deliveries/"+ids[kind]+"/resends", ops, nil)
		if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), why) {
			t.Errorf("the resend of the %s email: %d %s, want 409 saying %q", kind, res.Status, res.Body, why)
		}
	}
	refused("review-due-soon", "Kim Reviewer's review of University of Rz's submission is in")
	r.publish(events.ReviewRoundClosedV1{RoundID: "r8", RoundName: "Spring 2027"})
	refused("review-assigned", "the round Spring 2027 is closed")
	if sent := h.box.all()[before:]; len(sent) != 0 {
		t.Errorf("the refused resends sent %q", subjects(sent))
	}
	if given := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?status=given_up", ops, nil)).JSON(t)["items"].([]any); len(given) != 0 {
		t.Errorf("the refused resends are listed as given up: %v", given)
	}
}

// A reviewer asked on or after the reminder day (seven days before the deadline) is
// not reminded: the email of the assignment gives the deadline, and a reminder at the
// next sweep, seconds later, would only repeat it. Accepting late, or being asked
// again after declining, brings no reminder either; one asked before the reminder
// day is reminded on it, once, and nobody after the deadline.
func TestAReviewerAskedOnOrAfterTheReminderDayIsNotReminded(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	r := h.round("r9")
	ada := reviewer{round: "r9", roundName: "Winter 2026", sub: "s9", org: "wn", orgName: "University of Wn", deadline: time.Date(2026, 12, 11, 17, 0, 0, 0, time.UTC)}.as("ada", "Ada Reviewer")
	bo, di := ada.as("bo", "Bo Reviewer"), ada.as("di", "Di Reviewer")

	// Di is asked the day before the reminder day.
	r.publish(di.assigned())
	h.runUntil(civil.New(2026, 12, 3))
	// Ada is asked on the reminder day, in the evening, as in the audit; the sweep
	// after it reminds Di, not Ada.
	h.clock.Set(time.Date(2026, 12, 4, 20, 49, 37, 0, time.UTC))
	r.publish(ada.assigned())
	h.sweep()
	// Bo is asked the day after; Ada accepts late; Di declines and is asked again.
	h.clock.Advance(24 * time.Hour)
	r.publish(bo.assigned(), ada.accepted(),
		events.AssignmentDeclinedV1{RoundID: "r9", SubmissionID: "s9", ReviewerID: "di", Reason: "leave"}, di.assigned())
	h.runUntil(civil.New(2026, 12, 14))

	assigned := "Technician Commitment peer review (Winter 2026): University of Wn's submission is assigned to you, due Friday 11 December 2026, 17:00 GMT"
	declined := "Technician Commitment peer review (Winter 2026): you declined to review University of Wn's submission"
	for _, c := range []struct {
		who  reviewer
		want []string
	}{
		{ada, []string{assigned}},
		{bo, []string{assigned}},
		{di, []string{assigned,
			"Technician Commitment peer review (Winter 2026): accept and review University of Wn's submission by Friday 11 December 2026, 17:00 GMT",
			declined, assigned}},
	} {
		if diff := cmp.Diff(c.want, subjects(mailTo(h, c.who.email, 0))); diff != "" {
			t.Errorf("%s's emails (-want +got):\n%s", c.who.name, diff)
		}
	}
}

// A reviewer who declines and is asked again before the reminder day is reminded
// then, once (the declination closed the first assignment's reminder, and a second
// assignment never opened it again); a declination heard after the reviewer was
// asked again, but made before, does not close the second assignment's reminder.
func TestAReviewerAskedAgainAfterDecliningIsReminded(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	r := h.round("r10")
	eve := reviewer{round: "r10", roundName: "Winter 2026", sub: "s10", org: "wn", orgName: "University of Wn", deadline: time.Date(2026, 12, 11, 17, 0, 0, 0, time.UTC)}.as("eve", "Eve Reviewer")
	fay := eve.as("fay", "Fay Reviewer")

	// Eve: asked, declines, asked again, all before the reminder day (4 December).
	r.publish(eve.assigned(), events.AssignmentDeclinedV1{RoundID: "r10", SubmissionID: "s10", ReviewerID: "eve", Reason: "busy that week"}, eve.assigned())
	// Fay: asked twice with a declination between, but notify hears the declination
	// last (its version says it came between).
	r.publish(fay.assigned())
	declined := r.version + 1
	r.version += 2
	r.again(r.version, fay.assigned())
	r.again(declined, events.AssignmentDeclinedV1{RoundID: "r10", SubmissionID: "s10", ReviewerID: "fay", Reason: "leave"})
	h.runUntil(civil.New(2026, 12, 14))

	assigned := "Technician Commitment peer review (Winter 2026): University of Wn's submission is assigned to you, due Friday 11 December 2026, 17:00 GMT"
	reminder := "Technician Commitment peer review (Winter 2026): accept and review University of Wn's submission by Friday 11 December 2026, 17:00 GMT"
	// Eve is told of her declination (its calendar update cancels the deadline) before
	// she is asked again; Fay's, heard after she was asked again, tells nothing.
	declinedSubject := "Technician Commitment peer review (Winter 2026): you declined to review University of Wn's submission"
	for who, want := range map[reviewer][]string{eve: {assigned, declinedSubject, assigned, reminder}, fay: {assigned, assigned, reminder}} {
		if diff := cmp.Diff(want, subjects(mailTo(h, who.email, 0))); diff != "" {
			t.Errorf("%s's emails (-want +got):\n%s", who.name, diff)
		}
	}
}

// After ops correct a reviewer's address in the pool, what notify sends about an
// assignment made before (the chase of an overdue review, whose event still carries
// the address the round copied; ops' resend of the assignment email) goes to the
// corrected address, which signs in: the old one no longer does.
func TestAReviewersCorrectedAddressIsWrittenToAboutEarlierAssignments(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("ca", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	r := h.round("r-ca")
	old := reviewer{round: "r-ca", roundName: "Spring 2027", sub: "s-ca", org: "ca", orgName: "University of Ca", deadline: time.Date(2027, 4, 30, 16, 0, 0, 0, time.UTC)}.as("rev-ben", "Ben Reviewer")
	r.publish(old.assigned(), old.accepted())
	assignedTo := mailTo(h, old.email, 0)
	if len(assignedTo) != 1 {
		t.Fatalf("the assignment went to %v", subjects(assignedTo))
	}
	corrected := "ben.reviewer@othertown.ac.uk"
	r.publish(events.ReviewerUpdatedV1{ReviewerID: "rev-ben", Name: "Ben Reviewer", Email: corrected, OrganisationID: "org-other", Trained: true, Capacity: 2})

	// Ops resend the assignment email while the deadline is ahead: once it has
	// passed, the assignment can no longer be accepted, and the resend is refused.
	ops := h.http.Token(auth.RoleOps, "")
	h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "ca", "review-assigned", old.email)+"/resends", ops, nil))
	if got := mailTo(h, corrected, 0); len(got) != 1 || !strings.Contains(got[0].Subject, "is assigned to you") {
		t.Errorf("the resent assignment email: the corrected address got %v", subjects(got))
	}

	h.clock.Set(time.Date(2027, 5, 1, 9, 0, 0, 0, time.UTC))
	r.publish(old.overdue()) // the round's event names the address it copied at the assignment
	if got := mailTo(h, corrected, 1); len(got) != 1 || !strings.Contains(got[0].Subject, "overdue") {
		t.Errorf("the corrected address got %v, want the overdue chase", subjects(got))
	}
	if got := mailTo(h, old.email, 1); len(got) != 0 {
		t.Errorf("the old address still got %v", subjects(got))
	}
}

// A reviewer's subject access answer lists each assignment once: notify keeps a
// record per reminder an assignment owes (as made, and again for a return), and the
// answer listed a returned review's assignment twice.
func TestSubjectAccessListsAReturnedReviewsAssignmentOnce(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("sa", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	kim := reviewer{round: "r8", roundName: "Spring 2027", sub: "s8", org: "sa", orgName: "University of Sa", deadline: time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)}.as("kim", "Kim Reviewer")
	r := h.round("r8")
	r.publish(kim.assigned(), kim.accepted(), kim.submitted(false), kim.returned("Please say more on recognition."))
	ops := h.http.Token(auth.RoleOps, "")
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(mailTo(h, kim.email, 0)); n < 2 {
			return fmt.Errorf("%d emails to kim, want the assignment's and the return's", n)
		}
		return nil
	})
	got := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": kim.email})).JSON(t)
	if as, _ := got["assignments"].([]any); len(as) != 1 {
		t.Errorf("subject access lists %d assignments, want kim's one: %v", len(as), as)
	}
}

// deliveryOf is the id of the email of kind to email in organisation org's part of
// the delivery log, failing the test if there is none.
func deliveryOf(h *harness, org, kind, email string) string {
	h.t.Helper()
	ops := h.http.Token(auth.RoleOps, "")
	for _, it := range h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id="+org, ops, nil)).JSON(h.t)["items"].([]any) {
		d := it.(map[string]any)
		to, _ := d["to"].([]any)
		if d["kind"] == kind && len(to) == 1 && to[0].(map[string]any)["email"] == email {
			return d["id"].(string)
		}
	}
	h.t.Fatalf("no %s email to %s in the log", kind, email)
	return ""
}

// A reminder before a review's deadline that goes later than its day (retried after
// the relay refused it, or resent by ops) counts the days left from the day it goes,
// and says what the reviewer has to do then: one who accepted since it was made is
// not asked to accept.
func TestAReviewReminderSentLateSaysWhereTheReviewStandsOnTheDayItGoes(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	r := h.round("r11")
	ada := reviewer{round: "r11", roundName: "Winter 2026", sub: "s11", org: "wr", orgName: "University of Wr", deadline: time.Date(2026, 12, 11, 17, 0, 0, 0, time.UTC)}.as("ada", "Ada Reviewer")
	bo, cy := ada.as("bo", "Bo Reviewer"), ada.as("cy", "Cy Reviewer")
	r.publish(ada.assigned(), ada.accepted(), bo.assigned(), bo.accepted(), cy.assigned())
	h.box.tryLater(ada.email)
	h.runUntil(civil.New(2026, 12, 4)) // the reminder day: Ada's is refused for now
	h.box.tryLater()

	const due = "Technician Commitment peer review (Winter 2026): your review of University of Wr's submission is due "
	last := func(who reviewer) received {
		t.Helper()
		got := mailTo(h, who.email, 0)
		if len(got) == 0 {
			t.Fatalf("%s received nothing", who.name)
		}
		return got[len(got)-1]
	}
	h.clock.Advance(24 * time.Hour) // 5 December: Ada's is retried, Cy accepts
	r.publish(cy.accepted())
	h.sweep()
	if got, want := last(ada).Subject, due+"in 6 days (Friday 11 December 2026, 17:00 GMT)"; got != want {
		t.Errorf("Ada's reminder retried on 5 December: %q, want %q", got, want)
	}

	ops := h.http.Token(auth.RoleOps, "")
	h.clock.Set(time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC))
	h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "wr", "review-due-soon", cy.email)+"/resends", ops, nil))
	m := last(cy)
	if want := due + "in 2 days (Friday 11 December 2026, 17:00 GMT)"; m.Subject != want {
		t.Errorf("Cy's reminder resent on 9 December: %q, want %q", m.Subject, want)
	}
	if strings.Contains(m.Text, "not yet accepted") || strings.Contains(m.Text, "Accept the assignment") {
		t.Errorf("Cy's reminder resent after Cy accepted still asks them to accept:\n%s", m.Text)
	}

	h.clock.Set(time.Date(2026, 12, 10, 10, 0, 0, 0, time.UTC))
	h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "wr", "review-due-soon", bo.email)+"/resends", ops, nil))
	m = last(bo)
	if want := due + "tomorrow (Friday 11 December 2026, 17:00 GMT)"; m.Subject != want {
		t.Errorf("Bo's reminder resent on 10 December: %q, want %q", m.Subject, want)
	}
	checkSays(t, m, "is due tomorrow: by Friday 11 December 2026, 17:00 GMT.")
}

// The email of an assignment asks the reviewer to accept it and review by the
// deadline, and the review service takes no acceptance after it: once the deadline
// has passed, ops' resend of it is refused (409 saying why, nothing sent), and a
// retry of one the relay refused is given up, saying why.
func TestAnAssignmentEmailIsNotSentAgainAfterTheDeadline(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 12, 10, 16, 0, 0, 0, time.UTC))
	r := h.round("r12")
	ada := reviewer{round: "r12", roundName: "Winter 2026", sub: "s12", org: "wd", orgName: "University of Wd", deadline: time.Date(2026, 12, 11, 17, 0, 0, 0, time.UTC)}.as("ada", "Ada Reviewer")
	bo := ada.as("bo", "Bo Reviewer")
	ops := h.http.Token(auth.RoleOps, "")
	r.publish(bo.assigned())
	h.box.tryLater(ada.email)
	r.publish(ada.assigned())
	// The first attempt must have met the refusal before it is lifted: the
	// consumer's ack does not wait for the attempt.
	testenv.Eventually(t, 10*time.Second, func() error {
		failed := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=wd&status=failed", ops, nil)).JSON(t)["items"].([]any)
		if len(failed) != 1 {
			return fmt.Errorf("ada's refused attempt is not recorded yet: %v", failed)
		}
		return nil
	})
	h.box.tryLater()

	h.clock.Set(time.Date(2026, 12, 11, 17, 30, 0, 0, time.UTC)) // half an hour after the deadline
	before := len(h.box.all())
	res := h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "wd", "review-assigned", bo.email)+"/resends", ops, nil)
	if res.Status != http.StatusConflict || !strings.Contains(res.Header.Get("Content-Type"), "application/problem+json") ||
		!strings.Contains(string(res.Body), "deadline") || !strings.Contains(string(res.Body), "passed") {
		t.Errorf("the resend of Bo's assignment after the deadline: %d %s %s, want 409 saying the deadline passed", res.Status, res.Header.Get("Content-Type"), res.Body)
	}
	h.sweep()
	if sent := h.box.all()[before:]; len(sent) != 0 {
		t.Errorf("after the deadline, the assignment emails were sent again: %q", subjects(sent))
	}
	given := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=wd&status=given_up", ops, nil)).JSON(t)["items"].([]any)
	if len(given) != 1 || given[0].(map[string]any)["kind"] != "review-assigned" || !strings.Contains(given[0].(map[string]any)["last_error"].(string), "deadline") {
		t.Errorf("given up: %v, want Ada's assignment email, saying the deadline passed", given)
	}
}

// The email of an assignment asks the reviewer to accept or decline it. Sent again
// once they have accepted, it says they have, and what they owe by when: it still
// asked them to accept or decline.
func TestAnAssignmentEmailResentAfterAcceptanceSaysItIsAccepted(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	r := h.round("r13")
	ada := reviewer{round: "r13", roundName: "Winter 2026", sub: "s13", org: "wa", orgName: "University of Wa", deadline: time.Date(2026, 12, 11, 17, 0, 0, 0, time.UTC)}.as("ada", "Ada Reviewer")
	bo := ada.as("bo", "Bo Reviewer")
	r.publish(ada.assigned(), bo.assigned(), ada.accepted()) // heard once it returns
	// The emails are sent after the events are taken.
	testenv.Eventually(t, 10*time.Second, func() error {
		if len(mailTo(h, ada.email, 0)) == 0 || len(mailTo(h, bo.email, 0)) == 0 {
			return fmt.Errorf("the assignment emails are not sent yet")
		}
		return nil
	})
	ops := h.http.Token(auth.RoleOps, "")
	resent := func(who reviewer) received {
		t.Helper()
		before := len(mailTo(h, who.email, 0))
		h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/deliveries/"+deliveryOf(h, "wa", "review-assigned", who.email)+"/resends", ops, nil))
		got := mailTo(h, who.email, 0)
		if len(got) != before+1 {
			t.Fatalf("%s received %d emails after the resend, want %d", who.name, len(got), before+1)
		}
		return got[len(got)-1]
	}
	m := resent(ada)
	checkSays(t, m, "You have accepted it: please submit your review by Friday 11 December 2026, 17:00 GMT.")
	if strings.Contains(m.Text, "accept or decline") {
		t.Errorf("Ada's assignment email, resent after she accepted, asks her to accept or decline:\n%s", m.Text)
	}
	checkSays(t, resent(bo), "Please accept or decline it, and submit your review by Friday 11 December 2026, 17:00 GMT.")
}
