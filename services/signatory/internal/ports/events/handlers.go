// Package events is the signatory service's JetStream port: the consumers that keep
// its views up to date and close obligations when the review service receives a
// submission.
package events

import (
	"context"
	"fmt"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/signatory/internal/app"
)

// Durable consumer names. They are contracts with the NATS server: never rename them.
const (
	DurableProjection         = "signatory-projection"
	DurableSubmissionReceived = "signatory-submission-received"
)

// Projection returns the consumer spec and handler that keep the organisation views
// current. It reads the service's own stream one message at a time, and rebuilds the
// view from the organisation's events, so it is idempotent and catches up by itself.
func Projection(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamSignatory, Durable: DurableProjection, MaxAckPending: 1, MaxDeliver: 10}
	return spec, func(ctx context.Context, e events.Envelope) error {
		if e.AggregateID == "" {
			return bus.Permanent(fmt.Errorf("event %s names no aggregate", e.ID))
		}
		if e.Subject() == events.SubjectPersonErased {
			return nil // an erasure for other services; the organisations it changed have their own events
		}
		return a.Project(ctx, e.AggregateID)
	}
}

// SubmissionReceived returns the consumer that closes obligations.
func SubmissionReceived(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{
		Stream: events.StreamReview, Durable: DurableSubmissionReceived,
		FilterSubjects: []string{events.SubjectSubmissionReceived}, MaxAckPending: 16,
	}
	return spec, func(ctx context.Context, e events.Envelope) error {
		s, err := events.Decode[events.SubmissionReceivedV1](e)
		if err != nil {
			return bus.Permanent(err)
		}
		if err := a.RecordSubmission(ctx, e.ID, s); err != nil {
			// The organisation refused the submission (received before its window
			// opened): redelivery would give the same answer, so it goes to the
			// dead letters at once, where ops read why. A passing conflict (another
			// command changing the organisation) carries a RetryAfter and is retried.
			if ae, ok := apperr.As(err); ok && ae.Code == apperr.Conflict && ae.RetryAfter == 0 {
				return bus.Permanent(err)
			}
			return err
		}
		return nil
	}
}
