package events

import "fmt"

// Contract is one payload type as a consumer meets it: its event type and how to
// decode an envelope of that type.
type Contract struct {
	Type   string
	Decode func(Envelope) (Payload, error)
	// Zero is the payload type's zero value, from which its schema is read (the
	// AsyncAPI document is generated from these types).
	Zero Payload
}

func contract[T Payload]() Contract {
	var v T
	return Contract{Type: v.EventType(), Decode: func(e Envelope) (Payload, error) { return Decode[T](e) }, Zero: v}
}

// Contracts lists every payload type of this version of the contracts, so that what
// must cover them all (the decoders' fuzz tests, a tool showing a dead letter's
// payload) does not go out of date when one is added. A test checks the list against
// the package's source.
func Contracts() []Contract {
	return []Contract{
		contract[OrganisationEnquiryReceivedV1](),
		contract[OrganisationMeetingHeldV1](),
		contract[OrganisationFormReceivedV1](),
		contract[OrganisationAnnouncedV1](),
		contract[OrganisationContactsChangedV1](),
		contract[OrganisationWithdrawnV1](),
		contract[OrganisationSuccessionRecordedV1](),
		contract[OrganisationDetailsCorrectedV1](),
		contract[OrganisationAnnouncementCorrectedV1](),
		contract[OrganisationMeetingCorrectedV1](),
		contract[OrganisationFormCorrectedV1](),
		contract[PersonErasedV1](),
		contract[ObligationScheduledV1](),
		contract[ObligationMetV1](),
		contract[SubmissionReceivedV1](),
		contract[SubmissionDraftedV1](),
		contract[SubmissionUpdatedV1](),
		contract[ReviewerRegisteredV1](),
		contract[ReviewerUpdatedV1](),
		contract[ReviewRoundOpenedV1](),
		contract[RoundSubmissionAddedV1](),
		contract[ReviewerAssignedV1](),
		contract[AssignmentRemovedV1](),
		contract[AssignmentAcceptedV1](),
		contract[AssignmentDeclinedV1](),
		contract[ReviewSubmittedV1](),
		contract[ReviewOverdueV1](),
		contract[FeedbackReleasedV1](),
		contract[ReviewRoundClosedV1](),
		contract[ReviewReturnedV1](),
		contract[ReviewWithheldV1](),
		contract[SubmissionPlacedV1](),
		contract[RoundSubmissionMovedV1](),
		contract[ReviewerAddressClaimedV1](),
		contract[RoundOpenedV1](),
		contract[RoundUpdatedV1](),
		contract[RoundClosedV1](),
		contract[BudgetReservedV1](),
		contract[BudgetReleasedV1](),
		contract[BudgetAdjustedV1](),
		contract[BudgetSetV1](),
		contract[ApplicationDraftedV1](),
		contract[ApplicationUpdatedV1](),
		contract[ApplicationSubmittedV1](),
		contract[ApplicationWithdrawnV1](),
		contract[ApplicationAssessmentStartedV1](),
		contract[ApplicationAwardedV1](),
		contract[ApplicationDeclinedV1](),
		contract[AwardCorrectedV1](),
		contract[ReportDueV1](),
		contract[ReportOverdueV1](),
		contract[ReportDueMovedV1](),
		contract[ReportSubmittedV1](),
		contract[FundingClaimedV1](),
		contract[FundingReleasedV1](),
		contract[FundingReorderCheckedV1](),
		contract[WindowCorrectionBegunV1](),
		contract[WindowCorrectionDroppedV1](),
		contract[WindowSubmissionCheckedV1](),
		contract[WindowSubmissionDroppedV1](),
		contract[SigninLinkRequestedV1](),
		contract[APITokenIssuedV1](),
		contract[APITokenRevokedV1](),
	}
}

// DecodeAny decodes an envelope of any type this version knows.
func DecodeAny(e Envelope) (Payload, error) {
	for _, c := range Contracts() {
		if c.Type == e.Type {
			return c.Decode(e)
		}
	}
	return nil, fmt.Errorf("decode event %s: unknown type %q", e.ID, e.Type)
}
