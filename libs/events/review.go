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
	// Cycle is the obligation's cycle (1 for the first submission), when known.
	Cycle int `json:"cycle,omitempty"`
}

// EventType implements Payload.
func (SubmissionReceivedV1) EventType() string { return SubjectSubmissionReceived + ".v1" }

// More subjects the review service publishes.
const (
	SubjectSubmissionDrafted    = "tc.review.submission.drafted"
	SubjectSubmissionUpdated    = "tc.review.submission.updated"
	SubjectReviewerRegistered   = "tc.review.reviewer.registered"
	SubjectReviewRoundOpened    = "tc.review.round.opened"
	SubjectRoundSubmissionAdded = "tc.review.round.submission_added"
	SubjectReviewerAssigned     = "tc.review.round.reviewer_assigned"
	SubjectAssignmentRemoved    = "tc.review.round.assignment_removed"
	SubjectAssignmentAccepted   = "tc.review.round.assignment_accepted"
	SubjectAssignmentDeclined   = "tc.review.round.assignment_declined"
	SubjectReviewSubmitted      = "tc.review.round.review_submitted"
	SubjectReviewOverdue        = "tc.review.round.review_overdue"
	SubjectFeedbackReleased     = "tc.review.round.feedback_released"
)

// ThemeAssessment is an institution's position on one theme.
type ThemeAssessment struct {
	Theme     string `json:"theme"`
	Narrative string `json:"narrative"`
	Rating    int    `json:"rating"`
}

// ActionItem is one line of an action plan.
type ActionItem struct {
	Theme          string `json:"theme"`
	Action         string `json:"action"`
	Owner          string `json:"owner"`
	SuccessMeasure string `json:"success_measure"`
	TargetDate     string `json:"target_date"`
	// Progress reports on an item carried from the previous cycle.
	Progress string `json:"progress,omitempty"`
}

// TechnicianVoice is the evidence that technicians shaped the plan.
type TechnicianVoice struct {
	HowConsulted string `json:"how_consulted"`
	Participants int    `json:"participants"`
}

// SubmissionContent is what an institution submits.
type SubmissionContent struct {
	SelfAssessment  []ThemeAssessment `json:"self_assessment"`
	ActionPlan      []ActionItem      `json:"action_plan"`
	TechnicianVoice TechnicianVoice   `json:"technician_voice"`
	Webpage         string            `json:"webpage"`
}

// SubmissionDraftedV1 starts a submission for an organisation's obligation.
type SubmissionDraftedV1 struct {
	SubmissionID   string            `json:"submission_id"`
	OrganisationID string            `json:"organisation_id"`
	ObligationID   string            `json:"obligation_id"`
	Kind           string            `json:"kind"`
	Content        SubmissionContent `json:"content"`
	// Cycle is the obligation's cycle (1 for the first submission), when known.
	Cycle int `json:"cycle,omitempty"`
}

// EventType implements Payload.
func (SubmissionDraftedV1) EventType() string { return SubjectSubmissionDrafted + ".v1" }

// SubmissionUpdatedV1 replaces a draft's content.
type SubmissionUpdatedV1 struct {
	SubmissionID string            `json:"submission_id"`
	Content      SubmissionContent `json:"content"`
}

// EventType implements Payload.
func (SubmissionUpdatedV1) EventType() string { return SubjectSubmissionUpdated + ".v1" }

// ReviewerRegisteredV1 adds a volunteer to the reviewer pool.
type ReviewerRegisteredV1 struct {
	ReviewerID     string   `json:"reviewer_id"`
	Name           string   `json:"name"`
	Email          string   `json:"email"`
	OrganisationID string   `json:"organisation_id"`
	Themes         []string `json:"themes"`
	Trained        bool     `json:"trained"`
	Capacity       int      `json:"capacity"`
	Conflicts      []string `json:"conflicts"`
}

// EventType implements Payload.
func (ReviewerRegisteredV1) EventType() string { return SubjectReviewerRegistered + ".v1" }

// SubjectReviewerUpdated is published when ops change a pool member's record.
const SubjectReviewerUpdated = "tc.review.reviewer.updated"

// ReviewerUpdatedV1 carries a pool member's record in full after ops changed it (for
// example once they are trained). It applies to assignments made from then on.
type ReviewerUpdatedV1 struct {
	ReviewerID     string   `json:"reviewer_id"`
	Name           string   `json:"name"`
	Email          string   `json:"email"`
	OrganisationID string   `json:"organisation_id"`
	Themes         []string `json:"themes"`
	Trained        bool     `json:"trained"`
	Capacity       int      `json:"capacity"`
	Conflicts      []string `json:"conflicts"`
}

// EventType implements Payload.
func (ReviewerUpdatedV1) EventType() string { return SubjectReviewerUpdated + ".v1" }

// ReviewRoundOpenedV1 opens a review round.
type ReviewRoundOpenedV1 struct {
	RoundID        string    `json:"round_id"`
	Name           string    `json:"name"`
	ReviewDeadline time.Time `json:"review_deadline"`
	// ReviewersPerSubmission is how many reviewers automatic assignment gives each
	// submission (2 when absent).
	ReviewersPerSubmission int `json:"reviewers_per_submission,omitempty"`
}

// EventType implements Payload.
func (ReviewRoundOpenedV1) EventType() string { return SubjectReviewRoundOpened + ".v1" }

// RoundSubmissionAddedV1 puts a submission into a round.
type RoundSubmissionAddedV1 struct {
	RoundID        string `json:"round_id"`
	SubmissionID   string `json:"submission_id"`
	OrganisationID string `json:"organisation_id"`
	// OrganisationName is the organisation's name when the submission was added, so
	// that the round's later events can say whose submission they are about;
	// optional within v1.
	OrganisationName string `json:"organisation_name,omitempty"`
	// Placement is the version of the submission's placement record (see
	// SubmissionPlacedV1) that put it in this round; absent (0) for submissions
	// added before placements were recorded. The submission's read model orders
	// what different rounds say of it by this, as their versions do not compare.
	Placement int `json:"placement,omitempty"`
}

// EventType implements Payload.
func (RoundSubmissionAddedV1) EventType() string { return SubjectRoundSubmissionAdded + ".v1" }

// ReviewerAssignedV1 assigns a reviewer to a submission; notify emails the reviewer.
type ReviewerAssignedV1 struct {
	RoundID        string    `json:"round_id"`
	SubmissionID   string    `json:"submission_id"`
	OrganisationID string    `json:"organisation_id"`
	ReviewerID     string    `json:"reviewer_id"`
	ReviewerName   string    `json:"reviewer_name"`
	ReviewerEmail  string    `json:"reviewer_email"`
	ReviewDeadline time.Time `json:"review_deadline"`
	Manual         bool      `json:"manual,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	// What the assignment is about, for the email to the reviewer; optional within v1.
	RoundName        string `json:"round_name,omitempty"`
	OrganisationName string `json:"organisation_name,omitempty"`
}

// EventType implements Payload.
func (ReviewerAssignedV1) EventType() string { return SubjectReviewerAssigned + ".v1" }

// AssignmentRemovedV1 takes a reviewer off a submission, with the reason.
type AssignmentRemovedV1 struct {
	RoundID      string `json:"round_id"`
	SubmissionID string `json:"submission_id"`
	ReviewerID   string `json:"reviewer_id"`
	Reason       string `json:"reason"`
	// The rest say who to tell (the reviewer) and about what; optional within v1.
	OrganisationID string    `json:"organisation_id,omitempty"`
	ReviewerName   string    `json:"reviewer_name,omitempty"`
	ReviewerEmail  string    `json:"reviewer_email,omitempty"`
	ReviewDeadline time.Time `json:"review_deadline,omitzero"`
	// What the assignment is about, for the email to the reviewer; optional within v1.
	RoundName        string `json:"round_name,omitempty"`
	OrganisationName string `json:"organisation_name,omitempty"`
	// Cause says, when the service took the reviewer off rather than ops, why, so
	// that the reviewer can be told in words (Reason is written for ops); optional
	// within v1: none of the Removal causes is ops' removal by hand.
	Cause string `json:"cause,omitempty"`
}

// The causes of an AssignmentRemovedV1 the review service makes itself.
const (
	// RemovalOrganisationWithdrew: the submitting organisation withdrew from the
	// Commitment, so its submission is no longer reviewed.
	RemovalOrganisationWithdrew = "organisation_withdrew"
	// RemovalReviewerOrganisationWithdrew: the reviewer's own organisation withdrew,
	// so they may no longer review.
	RemovalReviewerOrganisationWithdrew = "reviewer_organisation_withdrew"
	// RemovalReviewerErased: the reviewer's details were erased at their request.
	RemovalReviewerErased = "reviewer_erased"
)

// EventType implements Payload.
func (AssignmentRemovedV1) EventType() string { return SubjectAssignmentRemoved + ".v1" }

// AssignmentAcceptedV1 says the reviewer took the assignment on.
type AssignmentAcceptedV1 struct {
	RoundID      string `json:"round_id"`
	SubmissionID string `json:"submission_id"`
	ReviewerID   string `json:"reviewer_id"`
	// The rest say who to tell (the reviewer, to confirm the deadline); optional within v1.
	OrganisationID string    `json:"organisation_id,omitempty"`
	ReviewerName   string    `json:"reviewer_name,omitempty"`
	ReviewerEmail  string    `json:"reviewer_email,omitempty"`
	ReviewDeadline time.Time `json:"review_deadline,omitzero"`
	// What the assignment is about, for the email to the reviewer; optional within v1.
	RoundName        string `json:"round_name,omitempty"`
	OrganisationName string `json:"organisation_name,omitempty"`
}

// EventType implements Payload.
func (AssignmentAcceptedV1) EventType() string { return SubjectAssignmentAccepted + ".v1" }

// AssignmentDeclinedV1 says the reviewer declined; the place goes back to the pool.
type AssignmentDeclinedV1 struct {
	RoundID      string `json:"round_id"`
	SubmissionID string `json:"submission_id"`
	ReviewerID   string `json:"reviewer_id"`
	Reason       string `json:"reason,omitempty"`
	// The rest say who declined and by when a replacement must finish; optional within v1.
	OrganisationID string    `json:"organisation_id,omitempty"`
	ReviewerName   string    `json:"reviewer_name,omitempty"`
	ReviewerEmail  string    `json:"reviewer_email,omitempty"`
	ReviewDeadline time.Time `json:"review_deadline,omitzero"`
	// What the assignment is about, for the email to the reviewer; optional within v1.
	RoundName        string `json:"round_name,omitempty"`
	OrganisationName string `json:"organisation_name,omitempty"`
}

// EventType implements Payload.
func (AssignmentDeclinedV1) EventType() string { return SubjectAssignmentDeclined + ".v1" }

// ThemeReview is a reviewer's view of one theme.
type ThemeReview struct {
	Theme           string `json:"theme"`
	Score           int    `json:"score"`
	Strengths       string `json:"strengths"`
	Recommendations string `json:"recommendations"`
}

// ReviewSubmittedV1 records a review.
type ReviewSubmittedV1 struct {
	RoundID      string        `json:"round_id"`
	SubmissionID string        `json:"submission_id"`
	ReviewerID   string        `json:"reviewer_id"`
	Themes       []ThemeReview `json:"themes"`
	Summary      string        `json:"summary"`
	// The rest let notify thank the reviewer; optional within v1.
	OrganisationID string `json:"organisation_id,omitempty"`
	ReviewerName   string `json:"reviewer_name,omitempty"`
	ReviewerEmail  string `json:"reviewer_email,omitempty"`
	// What the review was of, for the thanks; optional within v1.
	RoundName        string    `json:"round_name,omitempty"`
	OrganisationName string    `json:"organisation_name,omitempty"`
	ReviewDeadline   time.Time `json:"review_deadline,omitzero"`
	// Resubmission says the reviewer revised a review ops had returned to them.
	Resubmission bool `json:"resubmission,omitempty"`
}

// EventType implements Payload.
func (ReviewSubmittedV1) EventType() string { return SubjectReviewSubmitted + ".v1" }

// ReviewOverdueV1 says a round's deadline passed with this review outstanding.
type ReviewOverdueV1 struct {
	RoundID        string    `json:"round_id"`
	SubmissionID   string    `json:"submission_id"`
	OrganisationID string    `json:"organisation_id,omitempty"`
	ReviewerID     string    `json:"reviewer_id"`
	ReviewerName   string    `json:"reviewer_name"`
	ReviewerEmail  string    `json:"reviewer_email"`
	ReviewDeadline time.Time `json:"review_deadline"`
	// What the assignment is about, for the email to the reviewer; optional within v1.
	RoundName        string `json:"round_name,omitempty"`
	OrganisationName string `json:"organisation_name,omitempty"`
}

// EventType implements Payload.
func (ReviewOverdueV1) EventType() string { return SubjectReviewOverdue + ".v1" }

// ThemeScore is the consolidated score of a theme.
type ThemeScore struct {
	Theme string  `json:"theme"`
	Score float64 `json:"score"`
}

// FeedbackReleasedV1 releases consolidated, anonymised feedback to the institution.
type FeedbackReleasedV1 struct {
	RoundID        string       `json:"round_id"`
	SubmissionID   string       `json:"submission_id"`
	OrganisationID string       `json:"organisation_id"`
	Feedback       string       `json:"feedback"`
	Scores         []ThemeScore `json:"scores"`
	// Who to tell at the institution: its nominated lead, as the review service last
	// heard from the signatory service; optional within v1.
	OrganisationName string `json:"organisation_name,omitempty"`
	LeadName         string `json:"lead_name,omitempty"`
	LeadEmail        string `json:"lead_email,omitempty"`
	// RoundName is the round the feedback comes from; optional within v1.
	RoundName string `json:"round_name,omitempty"`
}

// EventType implements Payload.
func (FeedbackReleasedV1) EventType() string { return SubjectFeedbackReleased + ".v1" }

// Subjects of the round's status and of moderation.
const (
	SubjectReviewRoundClosed = "tc.review.round.closed"
	SubjectReviewReturned    = "tc.review.round.review_returned"
	SubjectReviewWithheld    = "tc.review.round.review_withheld"
)

// ReviewRoundClosedV1 closes a round to assignment changes, responses and new
// reviews, so that ops can moderate and release feedback on a settled set of reviews.
type ReviewRoundClosedV1 struct {
	RoundID        string    `json:"round_id"`
	RoundName      string    `json:"round_name"`
	ReviewDeadline time.Time `json:"review_deadline"`
	Reason         string    `json:"reason,omitempty"`
}

// EventType implements Payload.
func (ReviewRoundClosedV1) EventType() string { return SubjectReviewRoundClosed + ".v1" }

// ReviewReturnedV1 says ops returned a review to its reviewer with the reason; the
// reviewer may revise and resubmit it, and it counts for nothing until they do.
// notify emails the reviewer.
type ReviewReturnedV1 struct {
	RoundID          string    `json:"round_id"`
	RoundName        string    `json:"round_name,omitempty"`
	SubmissionID     string    `json:"submission_id"`
	OrganisationID   string    `json:"organisation_id,omitempty"`
	OrganisationName string    `json:"organisation_name,omitempty"`
	ReviewerID       string    `json:"reviewer_id"`
	ReviewerName     string    `json:"reviewer_name,omitempty"`
	ReviewerEmail    string    `json:"reviewer_email,omitempty"`
	ReviewDeadline   time.Time `json:"review_deadline,omitzero"`
	Reason           string    `json:"reason"`
}

// EventType implements Payload.
func (ReviewReturnedV1) EventType() string { return SubjectReviewReturned + ".v1" }

// ReviewWithheldV1 says ops hold a review back from the consolidated feedback, with
// the reason. It is kept (the audit trail) but neither its text nor its scores reach
// the institution.
type ReviewWithheldV1 struct {
	RoundID        string `json:"round_id"`
	SubmissionID   string `json:"submission_id"`
	OrganisationID string `json:"organisation_id,omitempty"`
	ReviewerID     string `json:"reviewer_id"`
	Reason         string `json:"reason"`
}

// EventType implements Payload.
func (ReviewWithheldV1) EventType() string { return SubjectReviewWithheld + ".v1" }

// Subjects of where a submission is reviewed.
const (
	SubjectSubmissionPlaced     = "tc.review.placement.placed"
	SubjectRoundSubmissionMoved = "tc.review.round.submission_moved"
)

// SubmissionPlacedV1 records on a submission's placement record the review round it
// is put in: the one round that may hold it. Each addition to a round claims the
// placement first, so that two additions of one submission to two rounds, however
// concurrent, are decided one after the other.
type SubmissionPlacedV1 struct {
	SubmissionID string `json:"submission_id"`
	RoundID      string `json:"round_id"`
	// FromRoundID is the round it leaves (closed, with nothing of it left to
	// release), absent for a submission not yet in a round.
	FromRoundID string `json:"from_round_id,omitempty"`
}

// EventType implements Payload.
func (SubmissionPlacedV1) EventType() string { return SubjectSubmissionPlaced + ".v1" }

// RoundSubmissionMovedV1 says a closed round let a submission go to a later round:
// nobody's review of it there counts or can still count, and its feedback was not
// released there. The round no longer counts it among its submissions, and the
// reviewers still on it there are off it.
type RoundSubmissionMovedV1 struct {
	RoundID        string `json:"round_id"`
	SubmissionID   string `json:"submission_id"`
	OrganisationID string `json:"organisation_id"`
	ToRoundID      string `json:"to_round_id"`
}

// EventType implements Payload.
func (RoundSubmissionMovedV1) EventType() string { return SubjectRoundSubmissionMoved + ".v1" }

// SubjectReviewerAddressClaimed is the subject of a claim on a reviewer's address.
const SubjectReviewerAddressClaimed = "tc.review.reviewer_address.claimed"

// ReviewerAddressClaimedV1 records on an address's record (its aggregate id holds the
// address's digest, never the address) the pool member it belongs to: one person is
// one member of the pool, as the portal signs a reviewer in by their address. A
// registration, or a change of address, claims it first, so that two members
// registered with one address at once are decided one after the other.
type ReviewerAddressClaimedV1 struct {
	ReviewerID string `json:"reviewer_id"`
	// ReviewerVersion is the version of the member's record the claiming change was
	// decided on (0 for a registration): while the record is still at it, the change
	// that claimed may be on its way. Claims made before it was recorded have none.
	ReviewerVersion int `json:"reviewer_version,omitempty"`
}

// EventType implements Payload.
func (ReviewerAddressClaimedV1) EventType() string { return SubjectReviewerAddressClaimed + ".v1" }
