// Package events is the notify service's JetStream port: the read model of
// organisations from the signatory service's events, and the emails the fund's
// events cause.
package events

import (
	"context"
	"fmt"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/money"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// Durable consumer names: contracts with the NATS server, never renamed.
const (
	DurableOrganisations = "notify-organisations"
	DurableFund          = "notify-fund"
	DurableReview        = "notify-review"
	DurablePortal        = "notify-portal"
	// DurableFundCorrections tells of corrected awards: a durable of its own, so that
	// a pod of the release before, sharing notify-fund during a rolling update, is
	// never handed a correction it would acknowledge unsent.
	DurableFundCorrections = "notify-fund-corrections"
)

// Review tells reviewers of their assignments, reminds them before the deadline
// unless their review is in (or they declined, or were taken off it), chases overdue
// reviews, tells a reviewer whose review ops returned why and by when to revise it
// (and reminds them again until the revised review is in), stops every reminder and
// chase of a round once it is closed (telling each reviewer who accepted and had not
// reviewed that the review is no longer needed), and tells institutions that their
// feedback is released. A review withheld from the feedback is not consumed: it
// changes nothing anyone is told. The assignment read model does not depend on the
// order events arrive in (the round's versions order what happened to a review), but
// what a reviewer is told does: a return handled beside the revision that answers it
// can read the review before the revision is marked and email a return that is no
// longer true. So the messages are handled one at a time, in the stream's order,
// across replicas (a round's events are few; a redelivered, older one is still
// caught by its version). Handling an event again changes nothing: its mark is keyed
// by the round's version, an assignment is opened only if unknown and closing is for
// good, a closed round stays closed, and each email is claimed by the event (or the
// round) that causes it. So no record of processed events is kept, which would cost
// a read and a write per event.
func Review(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamReview, Durable: DurableReview, MaxAckPending: 1, Idempotent: true,
		FilterSubjects: []string{events.SubjectReviewerAssigned, events.SubjectAssignmentAccepted, events.SubjectAssignmentDeclined, events.SubjectAssignmentRemoved,
			events.SubjectReviewSubmitted, events.SubjectReviewOverdue, events.SubjectReviewReturned, events.SubjectReviewRoundClosed, events.SubjectFeedbackReleased,
			events.SubjectReviewerUpdated, events.SubjectReviewWithheld, events.SubjectReviewerRegistered}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		mark := func(kind, round, sub, reviewer string) app.Mark {
			return app.Mark{Assignment: app.Assignment{RoundID: round, SubmissionID: sub, ReviewerID: reviewer}, Kind: kind, Version: e.Version, At: e.Time}
		}
		switch e.Type {
		case events.ReviewerRegisteredV1{}.EventType():
			// Ops registering a person in the pool names them anew: one erased before
			// is emailed again (an update of a member's record is no new naming).
			p, err := events.Decode[events.ReviewerRegisteredV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.NamedAgain(ctx, e.Time, mail.Person{Name: p.Name, Email: p.Email})
		case events.ReviewerAssignedV1{}.EventType():
			p, err := events.Decode[events.ReviewerAssignedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.Assign(ctx, e.ID, e.Version, app.Assignment{RoundID: p.RoundID, SubmissionID: p.SubmissionID, ReviewerID: p.ReviewerID,
				OrganisationID: p.OrganisationID, RoundName: p.RoundName, OrganisationName: p.OrganisationName,
				Reviewer: mail.Person{Name: p.ReviewerName, Email: p.ReviewerEmail}, Deadline: p.ReviewDeadline})
		case events.AssignmentAcceptedV1{}.EventType():
			p, err := events.Decode[events.AssignmentAcceptedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			m := mark(app.MarkAccepted, p.RoundID, p.SubmissionID, p.ReviewerID)
			m.OrganisationID, m.RoundName, m.OrganisationName, m.Deadline = p.OrganisationID, p.RoundName, p.OrganisationName, p.ReviewDeadline
			m.Reviewer = mail.Person{Name: p.ReviewerName, Email: p.ReviewerEmail}
			return a.Record(ctx, m)
		case events.AssignmentDeclinedV1{}.EventType():
			p, err := events.Decode[events.AssignmentDeclinedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			m := mark(app.MarkGone, p.RoundID, p.SubmissionID, p.ReviewerID)
			m.OrganisationID, m.RoundName, m.OrganisationName, m.Deadline = p.OrganisationID, p.RoundName, p.OrganisationName, p.ReviewDeadline
			m.Reviewer = mail.Person{Name: p.ReviewerName, Email: p.ReviewerEmail}
			return a.Declined(ctx, e.ID, m)
		case events.ReviewSubmittedV1{}.EventType():
			// A first review and a revised one (resubmission) alike: the review is in.
			p, err := events.Decode[events.ReviewSubmittedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.Record(ctx, mark(app.MarkSubmitted, p.RoundID, p.SubmissionID, p.ReviewerID))
		case events.ReviewReturnedV1{}.EventType():
			p, err := events.Decode[events.ReviewReturnedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			m := mark(app.MarkReturned, p.RoundID, p.SubmissionID, p.ReviewerID)
			m.OrganisationID, m.RoundName, m.OrganisationName, m.Deadline = p.OrganisationID, p.RoundName, p.OrganisationName, p.ReviewDeadline
			m.Reviewer, m.Reason = mail.Person{Name: p.ReviewerName, Email: p.ReviewerEmail}, p.Reason
			return a.ReviewReturned(ctx, e.ID, m)
		case events.ReviewRoundClosedV1{}.EventType():
			p, err := events.Decode[events.ReviewRoundClosedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.CloseRound(ctx, p.RoundID, p.RoundName, e.Time, e.Version)
		case events.AssignmentRemovedV1{}.EventType():
			p, err := events.Decode[events.AssignmentRemovedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			as := app.Assignment{RoundID: p.RoundID, SubmissionID: p.SubmissionID, ReviewerID: p.ReviewerID, OrganisationID: p.OrganisationID,
				RoundName: p.RoundName, OrganisationName: p.OrganisationName, Reviewer: mail.Person{Name: p.ReviewerName, Email: p.ReviewerEmail}}
			if err := a.Record(ctx, mark(app.MarkGone, p.RoundID, p.SubmissionID, p.ReviewerID)); err != nil {
				return err
			}
			if p.ReviewerEmail == "" { // an older producer that does not say who to tell
				return nil
			}
			return a.Unassign(ctx, e.ID, e.Version, as, p.Cause)
		case events.ReviewOverdueV1{}.EventType():
			p, err := events.Decode[events.ReviewOverdueV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.ReviewOverdue(ctx, e.ID, e.Version, app.Assignment{RoundID: p.RoundID, SubmissionID: p.SubmissionID, ReviewerID: p.ReviewerID,
				OrganisationID: p.OrganisationID, RoundName: p.RoundName, OrganisationName: p.OrganisationName,
				Reviewer: mail.Person{Name: p.ReviewerName, Email: p.ReviewerEmail}, Deadline: p.ReviewDeadline})
		case events.ReviewWithheldV1{}.EventType():
			p, err := events.Decode[events.ReviewWithheldV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			m := mark(app.MarkWithheld, p.RoundID, p.SubmissionID, p.ReviewerID)
			m.OrganisationID = p.OrganisationID
			return a.Withheld(ctx, e.ID, m, p.Reason)
		case events.ReviewerUpdatedV1{}.EventType():
			p, err := events.Decode[events.ReviewerUpdatedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.ReviewerChanged(ctx, p.ReviewerID, mail.Person{Name: p.Name, Email: p.Email})
		case events.FeedbackReleasedV1{}.EventType():
			p, err := events.Decode[events.FeedbackReleasedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.FeedbackReleased(ctx, e.ID, p.OrganisationID, p.OrganisationName, p.RoundName, p.RoundID, p.SubmissionID,
				mail.Person{Name: p.LeadName, Email: p.LeadEmail})
		}
		return nil
	}
}

// Organisations keeps the name (as ITSS last corrected it), contacts and the open
// obligation of each organisation, in order, and forgets an erased person in them
// (tc.signatory.person.erased, which it has always read: it takes every subject of
// the stream).
func Organisations(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamSignatory, Durable: DurableOrganisations, MaxAckPending: 1, MaxDeliver: 10}
	return spec, func(ctx context.Context, e events.Envelope) error {
		if e.AggregateID == "" {
			return bus.Permanent(fmt.Errorf("event %s names no organisation", e.ID))
		}
		var apply func(*app.Organisation)
		switch e.Type {
		case events.OrganisationEnquiryReceivedV1{}.EventType():
			p, err := events.Decode[events.OrganisationEnquiryReceivedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			apply = func(o *app.Organisation) { o.Name, o.Kind = p.Name, p.Kind }
		case events.OrganisationDetailsCorrectedV1{}.EventType():
			// ITSS corrected the name: emails and the calendar feed name the
			// organisation so from now on (a redelivery sets the same).
			p, err := events.Decode[events.OrganisationDetailsCorrectedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			if p.Name == "" {
				return bus.Permanent(fmt.Errorf("event %s names the organisation nothing", e.ID))
			}
			apply = func(o *app.Organisation) { o.Name = p.Name }
		case events.OrganisationFormReceivedV1{}.EventType():
			p, err := events.Decode[events.OrganisationFormReceivedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			if err := a.NamedAgain(ctx, e.Time, person(p.NominatedLead), person(p.Leader)); err != nil {
				return err
			}
			apply = func(o *app.Organisation) { o.Lead, o.Leader = person(p.NominatedLead), person(p.Leader) }
		case events.OrganisationContactsChangedV1{}.EventType():
			p, err := events.Decode[events.OrganisationContactsChangedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			// Named again after an erasure (a person back, a shared mailbox), a lead or
			// head is emailed again: the hand-over below included.
			if err := a.NamedAgain(ctx, e.Time, person(p.NominatedLead), person(p.Leader)); err != nil {
				return err
			}
			// A new lead gets a new feed address (the previous lead's stops answering),
			// and is told of the hand-over, as is the lead before them.
			return a.ChangeContacts(ctx, e.ID, e.AggregateID, func(o *app.Organisation) { o.Lead, o.Leader = person(p.NominatedLead), person(p.Leader) })
		case events.OrganisationAnnouncedV1{}.EventType():
			p, err := events.Decode[events.OrganisationAnnouncedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			if err := a.NamedAgain(ctx, e.Time, person(p.NominatedLead), person(p.Leader)); err != nil {
				return err
			}
			apply = func(o *app.Organisation) {
				o.Name, o.Announced, o.Lead, o.Leader = p.Name, true, person(p.NominatedLead), person(p.Leader)
				o.AnnouncedOn = p.AnnouncedOn
				if p.Kind != "" {
					o.Kind = p.Kind
				}
			}
		case events.ObligationScheduledV1{}.EventType():
			p, err := events.Decode[events.ObligationScheduledV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.ScheduleObligation(ctx, e.AggregateID, p.OrganisationName,
				app.Obligation{ID: p.ObligationID, Kind: p.Kind, Cycle: p.Cycle, WindowOpens: p.WindowOpens, Due: p.Due})
		case events.OrganisationAnnouncementCorrectedV1{}.EventType():
			// The obligation scheduled again that follows it moves nothing more: it
			// carries the dates this moved it to.
			p, err := events.Decode[events.OrganisationAnnouncementCorrectedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.CorrectAnnouncement(ctx, e.ID, e.AggregateID, p.OrganisationName, app.AnnouncementCorrection{
				AnnouncedOn: p.AnnouncedOn, PreviousAnnouncedOn: p.PreviousAnnouncedOn,
				Obligation:          app.Obligation{ID: p.ObligationID, Kind: p.ObligationKind, Cycle: 1, WindowOpens: p.WindowOpens, Due: p.Due},
				PreviousWindowOpens: p.PreviousWindowOpens, PreviousDue: p.PreviousDue})
		case events.ObligationMetV1{}.EventType():
			p, err := events.Decode[events.ObligationMetV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.MeetObligation(ctx, e.ID, e.AggregateID, p.ObligationID, p.ReceivedOn)
		case events.OrganisationWithdrawnV1{}.EventType():
			// An event whose payload does not decode is not acted on: dead-lettered,
			// it can be looked at.
			p, err := events.Decode[events.OrganisationWithdrawnV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.Withdraw(ctx, e.ID, e.AggregateID, app.Withdrawal{On: p.WithdrawnOn, Reason: p.Reason, InitiatedBy: p.InitiatedBy})
		case events.PersonErasedV1{}.EventType():
			// The person is forgotten in the organisations here, in the stream's order
			// with the contacts changes, and by no other consumer: one beside this one
			// lost a new lead it raced, or wrote the erased one back. Handled again (a
			// redelivery, a replay), it finds no one: a person named again after it
			// is named by a later event.
			sub, err := platform.ErasedSubject(e)
			if err != nil {
				return err
			}
			return a.ForgetInOrganisations(ctx, sub)
		default:
			return nil
		}
		return a.Update(ctx, e.AggregateID, apply)
	}
}

// Fund sends receipts (for applications and for funded projects' reports), decisions
// and report reminders, tells an applicant whose application the fund withdrew
// because their organisation left the Commitment, and tells the lead of an
// application its applicant withdrew after submitting it.
func Fund(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	// Each event is its own email: they are handled side by side. Each email is
	// claimed by its recipient, cause and kind before it is sent, so an event handled
	// twice sends nothing twice, and no processed-message record is needed.
	spec := bus.ConsumerSpec{Stream: events.StreamFund, Durable: DurableFund, MaxAckPending: 16, Workers: 16, Idempotent: true,
		FilterSubjects: []string{events.SubjectApplicationSubmitted, events.SubjectApplicationAwarded, events.SubjectApplicationDeclined, events.SubjectReportDue,
			events.SubjectApplicationWithdrawn, events.SubjectReportSubmitted, events.SubjectReportOverdue, events.SubjectReportDueMoved}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		switch e.Type {
		case events.ApplicationSubmittedV1{}.EventType():
			p, err := events.Decode[events.ApplicationSubmittedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			// An applicant applying after their erasure gave their address anew.
			if err := a.NamedAgain(ctx, e.Time, person(p.Applicant)); err != nil {
				return err
			}
			return a.FundEmail(ctx, e.ID, "fund-received", application(p.ApplicationID, p.OrganisationID, p.Title, p.Applicant),
				"Technician Collaboration Fund: application received — "+p.Title,
				[]string{fmt.Sprintf("We have received the application “%s” (%s requested). ITSS will assess it after the round closes and write with the decision.", p.Title, money.Pounds(p.RequestedAmountPence))},
				civil.Date{})
		case events.ApplicationAwardedV1{}.EventType():
			p, err := events.Decode[events.ApplicationAwardedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.FundEmail(ctx, e.ID, "fund-awarded", application(p.ApplicationID, p.OrganisationID, p.Title, p.Applicant),
				"Technician Collaboration Fund: your application is funded — "+p.Title,
				[]string{fmt.Sprintf("Congratulations: “%s” is awarded %s.%s", p.Title, money.Pounds(p.AmountPence), app.AwardWindow(p.ProjectStart, p.ProjectEnd)), app.AwardReportDue(p.ReportDue)},
				p.ReportDue)
		case events.ApplicationDeclinedV1{}.EventType():
			p, err := events.Decode[events.ApplicationDeclinedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.FundEmail(ctx, e.ID, "fund-declined", application(p.ApplicationID, p.OrganisationID, p.Title, p.Applicant),
				"Technician Collaboration Fund: decision on "+p.Title,
				[]string{fmt.Sprintf("Thank you for applying with “%s”. This time the panel could not fund it.", p.Title), "The panel's feedback: " + p.Feedback},
				civil.Date{})
		case events.ReportDueV1{}.EventType():
			p, err := events.Decode[events.ReportDueV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			to := application(p.ApplicationID, p.OrganisationID, p.Title, p.Applicant)
			to.DueMoves = p.DueMoves
			return a.FundReportDue(ctx, e.ID, to, p.Due)
		case events.ReportOverdueV1{}.EventType():
			p, err := events.Decode[events.ReportOverdueV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			to := application(p.ApplicationID, p.OrganisationID, p.Title, p.Applicant)
			to.DueMoves = p.DueMoves
			return a.FundReportOverdue(ctx, to, p.Due)
		case events.ReportDueMovedV1{}.EventType():
			p, err := events.Decode[events.ReportDueMovedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			return a.FundReportDueMoved(ctx, application(p.ApplicationID, p.OrganisationID, p.Title, p.Applicant), app.ReportDueMove{
				Move: p.Move, DueBefore: p.DueBefore, Due: p.Due, ProjectStartBefore: p.ProjectStartBefore, ProjectEndBefore: p.ProjectEndBefore,
				ProjectStart: p.ProjectStart, ProjectEnd: p.ProjectEnd,
			})
		case events.ApplicationWithdrawnV1{}.EventType():
			p, err := events.Decode[events.ApplicationWithdrawnV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			// Kept either way: the receipt, resent, would say ITSS will assess it.
			if err := a.FundProgressed(ctx, p.ApplicationID, app.FundStepWithdrawn); err != nil {
				return err
			}
			if !p.OrganisationWithdrew {
				// The applicant withdrew it themselves: there is nothing to tell them,
				// but the lead, told of its receipt, is told it will not be assessed.
				return a.FundWithdrawnByApplicant(ctx, e.ID, application(p.ApplicationID, p.OrganisationID, p.Title, p.Applicant), p.Reason, p.SubmittedAt, e.Time)
			}
			// An applicant erased at their request reads with no address: Notify
			// writes to nobody.
			return a.FundWithdrawn(ctx, e.ID, application(p.ApplicationID, p.OrganisationID, p.Title, p.Applicant), p.Reason)
		case events.ReportSubmittedV1{}.EventType():
			p, err := events.Decode[events.ReportSubmittedV1](e)
			if err != nil {
				return bus.Permanent(err)
			}
			// An event that names no applicant (the applicant's token named nobody, as
			// a development token or a tool's may not; or a report from before the fund
			// named them) is still told to the lead, who was told of the application's
			// receipt and of its award: Notify writes to nobody at an empty address.
			return a.FundReportReceived(ctx, e.ID, application(p.ApplicationID, p.OrganisationID, p.Title, p.Applicant), p.SpentPence)
		}
		return nil
	}
}

// FundCorrections tells the applicant and the organisation's nominated lead, once
// each however often the event comes, that ITSS corrected the amount of an award
// (AwardCorrectedV1). Each email is claimed before it is sent, as Fund's are.
func FundCorrections(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamFund, Durable: DurableFundCorrections, MaxAckPending: 16, Workers: 16, Idempotent: true,
		FilterSubjects: []string{events.SubjectAwardCorrected}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		p, err := events.Decode[events.AwardCorrectedV1](e)
		if err != nil {
			return bus.Permanent(err)
		}
		return a.FundAwardCorrected(ctx, e.ID, application(p.ApplicationID, p.OrganisationID, p.Title, p.Applicant), app.AwardCorrection{
			N: p.Correction, FromPence: p.FromPence, ToPence: p.ToPence, Reason: p.Reason, ReportDue: p.ReportDue, DueMoves: p.DueMoves,
		})
	}
}

func application(id, org, title string, applicant events.Person) app.Application {
	return app.Application{ID: id, OrganisationID: org, Title: title, Applicant: person(applicant)}
}

func person(p events.Person) mail.Person { return mail.Person{Name: p.Name, Email: p.Email} }

// Portal sends the portal's sign-in links. Each is independent of the others, so
// several go at once; the delivery log's unique key makes a redelivery send nothing.
func Portal(a *app.App) (bus.ConsumerSpec, bus.Handler) {
	spec := bus.ConsumerSpec{Stream: events.StreamPortal, Durable: DurablePortal, MaxAckPending: 16, Workers: 16, Idempotent: true,
		FilterSubjects: []string{events.SubjectSigninLinkRequested}}
	return spec, func(ctx context.Context, e events.Envelope) error {
		p, err := events.Decode[events.SigninLinkRequestedV1](e)
		if err != nil {
			return bus.Permanent(err)
		}
		return a.SendSigninLink(ctx, e.ID, app.SigninLink{To: mail.Person{Name: p.Name, Email: p.Email}, Link: p.Link, Expires: p.ExpiresAt})
	}
}
