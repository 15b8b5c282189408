package app

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/store"
)

// A round's own read (Round) is the whole aggregate: every assignment, with its
// reviews. Ops' page of a round reads instead its summary from the rounds' model, its
// progress counted over the round's assignments held in memory, and a page of its
// assignments from the assignments' model, so that the page costs what it shows
// whatever the number of submissions in the round.

// RoundAssignment is one assignment of a round as ops' page of the round shows it.
type RoundAssignment struct {
	AssignmentEntry
	// Org is the submission's organisation.
	Org string
	// ReviewerName is the reviewer's name as the pool holds it now (empty once
	// erased at their request).
	ReviewerName string
	// Overdue is whether the review is outstanding past the deadline as of the read.
	Overdue bool
}

// Reviewed says the review is in and not returned for revision.
func (a RoundAssignment) Reviewed() bool { return a.HasReview && a.ReturnedReason == "" }

// RoundProgress counts a round's assignments in force by where they stand: waiting
// for an answer, accepted without a review in, reviewed; and those overdue.
type RoundProgress struct {
	Assigned, Accepted, Reviewed, Overdue int
}

// RoundSummary is a round without its assignments, with their progress.
type RoundSummary struct {
	RoundEntry
	Progress RoundProgress
}

// RoundSummary reads a round's summary and counts its assignments' progress (ops).
func (a *App) RoundSummary(ctx context.Context, by auth.Principal, id string) (RoundSummary, error) {
	if !by.IsOps() {
		return RoundSummary{}, apperr.New(apperr.Forbidden, "only ITSS operations staff read review rounds")
	}
	e, err := a.roundSummary(ctx, id)
	if err != nil {
		return RoundSummary{}, err
	}
	out := RoundSummary{RoundEntry: e}
	now := a.clock.Now()
	err = a.read.EachOfRound(ctx, id, func(as AssignmentEntry) {
		if !as.Active() {
			return
		}
		switch {
		case as.HasReview && as.ReturnedReason == "":
			out.Progress.Reviewed++
		case as.State == "accepted":
			out.Progress.Accepted++
		default:
			out.Progress.Assigned++
		}
		if as.OverdueAt(now) {
			out.Progress.Overdue++
		}
	})
	return out, err
}

// roundSummary is a round's entry in the rounds' model; a round this replica has not
// heard of yet (opened a moment ago through another) is looked up in the event store,
// which also tells a round that does not exist.
func (a *App) roundSummary(ctx context.Context, id string) (RoundEntry, error) {
	e, ok, err := a.read.Round(ctx, id)
	if err != nil || ok {
		return e, err
	}
	r, err := a.loadRound(ctx, id)
	if err != nil {
		return RoundEntry{}, err
	}
	if !r.Exists() {
		return RoundEntry{}, apperr.New(apperr.NotFound, "review round %s not found", id)
	}
	return roundEntry(r), nil
}

// RoundAssignments lists a page of a round's assignments in every state, by
// submission then reviewer, or of one submission's in it (ops); not those of a
// submission the round let go to a later one, which it no longer lists. The page is found in
// the assignments held in memory; only its reviewers' pool records are loaded, for
// their names.
func (a *App) RoundAssignments(ctx context.Context, by auth.Principal, id, sub string, p Page) ([]RoundAssignment, string, error) {
	if !by.IsOps() {
		return nil, "", apperr.New(apperr.Forbidden, "only ITSS operations staff read a round's assignments")
	}
	if err := pageLimit(p.Limit); err != nil {
		return nil, "", err
	}
	var after *AssignmentEntry
	if p.Cursor != "" {
		var c cursorAt
		if err := store.DecodeCursor(p.Cursor, &c); err != nil {
			return nil, "", err
		}
		s, rv, ok := strings.Cut(c.After, "/")
		if !ok || s == "" || rv == "" {
			return nil, "", store.BadCursor()
		}
		after = &AssignmentEntry{RoundID: id, SubmissionID: s, ReviewerID: rv}
	}
	if _, err := a.roundSummary(ctx, id); err != nil {
		return nil, "", err
	}
	page, more, err := a.read.RoundAssignments(ctx, id, sub, after, p.Limit)
	if err != nil {
		return nil, "", err
	}
	var subs, reviewers []string
	for _, e := range page {
		if !slices.Contains(subs, e.SubmissionID) {
			subs = append(subs, e.SubmissionID)
		}
		if !slices.Contains(reviewers, e.ReviewerID) {
			reviewers = append(reviewers, e.ReviewerID)
		}
	}
	orgs, err := a.read.Organisations(ctx, subs)
	if err != nil {
		return nil, "", err
	}
	names, err := a.reviewerNames(ctx, reviewers)
	if err != nil {
		return nil, "", err
	}
	now := a.clock.Now()
	out := make([]RoundAssignment, 0, len(page))
	for _, e := range page {
		out = append(out, RoundAssignment{AssignmentEntry: e, Org: orgs[e.SubmissionID], ReviewerName: names[e.ReviewerID], Overdue: e.OverdueAt(now)})
	}
	if !more || len(page) == 0 {
		return out, "", nil
	}
	last := page[len(page)-1]
	return out, store.EncodeCursor(cursorAt{After: last.SubmissionID + "/" + last.ReviewerID}), nil
}

// namesMaxAge is how long a page of a round's assignments may show a reviewer's name
// as this replica last read it: a rename made through another replica shows within
// this long. An erasure shows at once here (the names are sealed under the person's
// key, which the erasure destroys; the store's memory holds them sealed).
const namesMaxAge = 10 * time.Second

// reviewerNames reads the named pool members' records, for their names, a few at a
// time, from the store's memory when read within namesMaxAge: a page of 50
// assignments names up to 50 reviewers, and reading each afresh made the page cost
// two finds a reviewer at every request.
func (a *App) reviewerNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, id := range ids {
		g.Go(func() error {
			h, err := a.events.LoadRecent(gctx, reviewerAggregate(id), namesMaxAge)
			if err != nil {
				return fmt.Errorf("load reviewer %s: %w", id, err)
			}
			rv, ok, err := latestReviewer(h)
			if err != nil || !ok {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			out[id] = rv.Name
			return nil
		})
	}
	return out, g.Wait()
}

// Reviewer reads one pool member's record with their workload per round (ops).
func (a *App) Reviewer(ctx context.Context, by auth.Principal, id string) (Member, error) {
	if !by.IsOps() {
		return Member{}, apperr.New(apperr.Forbidden, "only ITSS operations staff read the reviewer pool")
	}
	rv, version, ok, err := a.loadReviewerAt(ctx, id)
	if err != nil {
		return Member{}, err
	}
	if !ok {
		return Member{}, apperr.New(apperr.NotFound, "no reviewer %s in the pool", id)
	}
	held, err := a.read.InForce(ctx, []string{id})
	if err != nil {
		return Member{}, err
	}
	return Member{Reviewer: rv, Workload: workload(held[id]), Version: version}, nil
}

// workload counts a reviewer's assignments in force per round, latest deadline first.
func workload(held []AssignmentEntry) []RoundLoad {
	out := []RoundLoad{}
	for _, e := range held {
		i := slices.IndexFunc(out, func(l RoundLoad) bool { return l.RoundID == e.RoundID })
		if i < 0 {
			out = append(out, RoundLoad{RoundID: e.RoundID, RoundName: e.RoundName, Deadline: e.Deadline})
			i = len(out) - 1
		}
		out[i].Reviews++
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Deadline.Equal(out[j].Deadline) {
			return out[i].Deadline.After(out[j].Deadline)
		}
		return out[i].RoundID < out[j].RoundID
	})
	return out
}
