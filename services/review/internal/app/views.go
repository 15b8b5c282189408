package app

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/review/internal/domain/round"
	"github.com/itss/techcommit/services/review/internal/domain/submission"
)

// SubmissionEntry is one submission as its organisation's view lists it: enough to
// filter, order and find the previous cycle without replaying any submission.
type SubmissionEntry struct {
	ID string
	// Submitted is true once the submission was received (a draft until then).
	Submitted   bool
	RoundID     string // the review round it is in, if any
	Released    bool   // its feedback is out
	CreatedAt   time.Time
	SubmittedAt time.Time
}

// Status is where the entry stands: draft, submitted, in_review or feedback_released.
func (e SubmissionEntry) Status() string {
	switch {
	case !e.Submitted:
		return string(submission.StatusDraft)
	case e.Released:
		return "feedback_released"
	case e.RoundID != "":
		return "in_review"
	}
	return string(submission.StatusSubmitted)
}

// SubmissionViews keeps, per organisation, the list of its submissions. A view is one
// document read by its _id (the organisation's id): the embedded store finds a
// document fast only that way.
type SubmissionViews interface {
	// Get returns an organisation's entries (none if it has no view yet).
	Get(ctx context.Context, org string) ([]SubmissionEntry, error)
	// Put replaces an organisation's entries. Only the projection writes, one batch
	// at a time, so a plain replace is safe.
	Put(ctx context.Context, org string, entries []SubmissionEntry) error
	// All returns every organisation's entries, for ops' list across organisations.
	All(ctx context.Context) (map[string][]SubmissionEntry, error)
}

// ProjectedSubjects are the events the submission views are built from.
var ProjectedSubjects = []string{events.SubjectSubmissionDrafted, events.SubjectSubmissionReceived,
	events.SubjectRoundSubmissionAdded, events.SubjectFeedbackReleased}

// Project brings the organisations' submission views up to date with a batch of
// events. Every change is a merge that only moves forward (an entry is created,
// marked submitted, put in a round, marked released), so a batch applied twice, or
// events met out of order, leave the same view. An event that does not decode is an
// Invalid error: no retry will change it.
func (a *App) Project(ctx context.Context, batch []events.Envelope) error {
	changes := map[string][]func([]SubmissionEntry) []SubmissionEntry{}
	var orgs []string
	add := func(org string, f func([]SubmissionEntry) []SubmissionEntry) {
		if _, ok := changes[org]; !ok {
			orgs = append(orgs, org)
		}
		changes[org] = append(changes[org], f)
	}
	for _, e := range batch {
		switch e.Type {
		case events.SubmissionDraftedV1{}.EventType():
			p, err := events.Decode[events.SubmissionDraftedV1](e)
			if err != nil {
				return apperr.New(apperr.Invalid, "%v", err)
			}
			at := e.Time
			add(p.OrganisationID, entry(p.SubmissionID, func(s *SubmissionEntry) {
				if s.CreatedAt.IsZero() {
					s.CreatedAt = at
				}
			}))
		case events.SubmissionReceivedV1{}.EventType():
			p, err := events.Decode[events.SubmissionReceivedV1](e)
			if err != nil {
				return apperr.New(apperr.Invalid, "%v", err)
			}
			add(p.OrganisationID, entry(p.SubmissionID, func(s *SubmissionEntry) { s.Submitted, s.SubmittedAt = true, p.ReceivedAt }))
		case events.RoundSubmissionAddedV1{}.EventType():
			p, err := events.Decode[events.RoundSubmissionAddedV1](e)
			if err != nil {
				return apperr.New(apperr.Invalid, "%v", err)
			}
			add(p.OrganisationID, entry(p.SubmissionID, func(s *SubmissionEntry) { s.Submitted, s.RoundID = true, p.RoundID }))
		case events.FeedbackReleasedV1{}.EventType():
			p, err := events.Decode[events.FeedbackReleasedV1](e)
			if err != nil {
				return apperr.New(apperr.Invalid, "%v", err)
			}
			add(p.OrganisationID, entry(p.SubmissionID, func(s *SubmissionEntry) { s.Submitted, s.RoundID, s.Released = true, p.RoundID, true }))
		}
	}
	for _, org := range orgs {
		if org == "" {
			continue
		}
		entries, err := a.views.Get(ctx, org)
		if err != nil {
			return err
		}
		for _, f := range changes[org] {
			entries = f(entries)
		}
		if err := a.views.Put(ctx, org, entries); err != nil {
			return err
		}
	}
	return nil
}

// entry returns a change to the entry of submission id, made if it is not there yet.
func entry(id string, f func(*SubmissionEntry)) func([]SubmissionEntry) []SubmissionEntry {
	return func(entries []SubmissionEntry) []SubmissionEntry {
		i := slices.IndexFunc(entries, func(e SubmissionEntry) bool { return e.ID == id })
		if i < 0 {
			entries = append(entries, SubmissionEntry{ID: id})
			i = len(entries) - 1
		}
		f(&entries[i])
		return entries
	}
}

// ListSubmissions pages through submissions in id order: a lead sees their own
// organisation's, ops every organisation's (or the one named). It reads the
// organisations' views and then only the submissions on the page.
func (a *App) ListSubmissions(ctx context.Context, by auth.Principal, q SubmissionQuery) ([]Listed, string, error) {
	switch {
	case by.IsOps():
	case by.Role == auth.RoleLead && by.Org != "":
		q.Org = by.Org
	default:
		return nil, "", apperr.New(apperr.Forbidden, "only an organisation's lead or ITSS operations staff list submissions")
	}
	var entries []SubmissionEntry
	if q.Org != "" {
		var err error
		if entries, err = a.views.Get(ctx, q.Org); err != nil {
			return nil, "", err
		}
	} else {
		all, err := a.views.All(ctx)
		if err != nil {
			return nil, "", err
		}
		for _, es := range all {
			entries = append(entries, es...)
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].ID < entries[j].ID })
	var page []SubmissionEntry
	next := ""
	for _, e := range entries {
		if e.ID <= q.Cursor || (q.Status != "" && e.Status() != q.Status) {
			continue
		}
		if len(page) == q.Limit {
			next = page[len(page)-1].ID
			break
		}
		page = append(page, e)
	}
	ids := make([]string, len(page))
	for i, e := range page {
		ids[i] = e.ID
	}
	histories, err := a.events.LoadMany(ctx, ids)
	if err != nil {
		return nil, "", fmt.Errorf("load a page of submissions: %w", err)
	}
	out := make([]Listed, 0, len(page))
	for _, e := range page {
		s, err := submission.Rebuild(e.ID, only(submission.AggregateType, histories[e.ID]))
		if err != nil {
			return nil, "", err
		}
		if s.Exists() {
			out = append(out, Listed{Submission: s, Status: e.Status()})
		}
	}
	return out, next, nil
}

// PreviousCycle finds the organisation's last submitted submission before s, from
// the organisation's view, and reads only that submission and the round it was
// reviewed in.
func (a *App) PreviousCycle(ctx context.Context, s *submission.Submission) (*Previous, error) {
	entries, err := a.views.Get(ctx, s.OrganisationID())
	if err != nil {
		return nil, err
	}
	var best *SubmissionEntry
	for i, e := range entries {
		if e.ID != s.ID() && e.Submitted && e.CreatedAt.Before(s.CreatedAt()) && (best == nil || e.SubmittedAt.After(best.SubmittedAt)) {
			best = &entries[i]
		}
	}
	if best == nil {
		return nil, nil
	}
	prev, err := a.loadSubmission(ctx, best.ID)
	if err != nil || !prev.Exists() {
		return nil, err
	}
	p := &Previous{Submission: prev}
	if best.RoundID != "" {
		r, err := a.loadRound(ctx, best.RoundID)
		if err != nil {
			return nil, err
		}
		if f, ok := r.Feedback(best.ID); ok {
			p.Feedback = &f
		}
	}
	return p, nil
}

// SeedViews builds the submission views from the event store when there are none
// yet (a new deployment of this version, or views dropped), since the stream the
// projection reads may no longer hold the oldest events. It runs at start, before
// the projection consumes, so the two never write at once.
func (a *App) SeedViews(ctx context.Context) error {
	existing, err := a.views.All(ctx)
	if err != nil || len(existing) > 0 {
		return err
	}
	var all []events.Envelope
	for _, t := range []string{submission.AggregateType, round.AggregateType} {
		evs, err := a.events.LoadByType(ctx, t)
		if err != nil {
			return fmt.Errorf("seed submission views: %w", err)
		}
		all = append(all, evs...)
	}
	return a.Project(ctx, all)
}
