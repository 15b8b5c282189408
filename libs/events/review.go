package events

import "time"

// Subjects the review service publishes (without version suffix).
const (
	SubjectSubmissionReceived = "tc.review.submission.received"
)

// SubmissionReceivedV1 says an organisation's submission (self-assessment and/or
// action plan) was received complete. The signatory service closes the matching
// obligation with it and opens the next.
type SubmissionReceivedV1 struct {
	SubmissionID   string    `json:"submission_id"`
	OrganisationID string    `json:"organisation_id"`
	ObligationID   string    `json:"obligation_id,omitempty"`
	Kind           string    `json:"kind"`
	ReceivedAt     time.Time `json:"received_at"`
}

// EventType implements Payload.
func (SubmissionReceivedV1) EventType() string { return SubjectSubmissionReceived + ".v1" }
