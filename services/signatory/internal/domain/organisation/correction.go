package organisation

import (
	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// CorrectAnnouncement corrects the date of the announcement (ITSS typed it wrong:
// 2025-03-02 for 2025-02-03), and with it the first obligation, whose window and due
// date count from it by the policy. The date is held to the announcement's rules (400
// naming announced_on). Only an announced organisation that has not withdrawn takes
// it, and only while nothing has been received against its first obligation (409):
// once a submission is in, the next deadline counts from its receipt, and the
// deadline it met is history. The same date again records nothing.
//
// It records the correction, then the first obligation scheduled again under its id
// with the new dates: a consumer that does not know the correction still moves the
// obligation (a later scheduling of one obligation stands).
func (o *Organisation) CorrectAnnouncement(on civil.Date, policy Policy, today civil.Date) ([]events.Payload, error) {
	switch o.status {
	case StatusNone:
		return nil, apperr.New(apperr.NotFound, "organisation %s not found", o.id)
	case StatusEnquiry, StatusMeetingHeld, StatusFormReceived:
		return nil, apperr.New(apperr.Conflict, "cannot correct the announcement of an organisation whose status is %s: it has not been announced; record its announcement", o.status)
	case StatusWithdrawn:
		return nil, apperr.New(apperr.Conflict, "cannot correct the announcement of an organisation whose status is %s: it has withdrawn, and its obligations lapsed with it", o.status)
	}
	for _, ob := range o.obligations {
		if ob.Status == ObligationMet {
			return nil, apperr.New(apperr.Conflict, "cannot correct the announcement of organisation %s: its %s was received on %s, and its deadlines now count from that day, not from the announcement",
				o.id, kindInWords(ob.Kind), ob.MetOn.InWords())
		}
	}
	if err := o.checkAnnouncedOn(on, policy, today); err != nil {
		return nil, err
	}
	if on == o.announcedOn {
		return nil, nil // corrected already (a form sent twice, a retry): nothing moves
	}
	first, ok := o.OpenObligation()
	if !ok || first.Cycle != 1 {
		return nil, apperr.New(apperr.Conflict, "cannot correct the announcement of organisation %s: it has no first obligation open", o.id)
	}
	s := policy.For(o.enquiry.Kind)
	opens, due := s.First(on)
	return []events.Payload{
		events.OrganisationAnnouncementCorrectedV1{
			OrganisationID: o.id, OrganisationName: o.enquiry.Name, AnnouncedOn: on, PreviousAnnouncedOn: o.announcedOn,
			ObligationID: first.ID, ObligationKind: first.Kind, WindowOpens: opens, Due: due,
			PreviousWindowOpens: first.WindowOpens, PreviousDue: first.Due,
		},
		o.scheduled(s, first.Cycle, opens, due),
	}, nil
}

// CorrectMeeting corrects the day ITSS met the organisation (typed wrong: 2026-03-02
// for 2025-03-02). The form's day may not precede it, nor the announcement's the
// form's, so a day typed late barred recording them as they happened. The day is
// held to the meeting's rules and may not follow the form's signing (400 naming
// held_on). Only an organisation whose meeting is recorded and which has not
// withdrawn takes it (409). The same day again records nothing.
func (o *Organisation) CorrectMeeting(on, today civil.Date) ([]events.Payload, error) {
	switch o.status {
	case StatusNone:
		return nil, apperr.New(apperr.NotFound, "organisation %s not found", o.id)
	case StatusEnquiry:
		return nil, apperr.New(apperr.Conflict, "cannot correct the meeting with an organisation whose status is %s: no meeting is recorded; record the meeting", o.status)
	case StatusWithdrawn:
		return nil, apperr.New(apperr.Conflict, "cannot correct the meeting with an organisation whose status is %s: it has withdrawn, and its record stands as it was", o.status)
	}
	if err := o.checkHeldOn(on, today); err != nil {
		return nil, err
	}
	if !o.signedOn.IsZero() && on.After(o.signedOn) {
		return nil, apperr.Field("held_on", "%s is after the form was signed on %s: the meeting comes before the form", on.InWords(), o.signedOn.InWords())
	}
	if on == o.meetingOn {
		return nil, nil // corrected already (a form sent twice, a retry)
	}
	return []events.Payload{events.OrganisationMeetingCorrectedV1{OrganisationID: o.id, HeldOn: on, PreviousHeldOn: o.meetingOn}}, nil
}

// CorrectForm corrects the day the organisation's form was signed (typed wrong:
// 2026-03-01 for 2025-03-01). The announcement's day may not precede it, so a day
// typed late barred recording the announcement as it happened. The day is held to
// the form's rules and may not follow the announcement (400 naming signed_on). Only
// an organisation whose form is recorded and which has not withdrawn takes it (409).
// The same day again records nothing.
func (o *Organisation) CorrectForm(on, today civil.Date) ([]events.Payload, error) {
	switch o.status {
	case StatusNone:
		return nil, apperr.New(apperr.NotFound, "organisation %s not found", o.id)
	case StatusEnquiry, StatusMeetingHeld:
		return nil, apperr.New(apperr.Conflict, "cannot correct the form of an organisation whose status is %s: no form is recorded; record the signed form", o.status)
	case StatusWithdrawn:
		return nil, apperr.New(apperr.Conflict, "cannot correct the form of an organisation whose status is %s: it has withdrawn, and its record stands as it was", o.status)
	}
	if err := o.checkSignedOn(on, today); err != nil {
		return nil, err
	}
	if !o.announcedOn.IsZero() && on.After(o.announcedOn) {
		return nil, apperr.Field("signed_on", "%s is after the announcement on %s: the form is signed before the announcement", on.InWords(), o.announcedOn.InWords())
	}
	if on == o.signedOn {
		return nil, nil // corrected already (a form sent twice, a retry)
	}
	return []events.Payload{events.OrganisationFormCorrectedV1{OrganisationID: o.id, SignedOn: on, PreviousSignedOn: o.signedOn}}, nil
}

// schedule records an obligation, or moves it when it is scheduled again under its
// id (after a correction of the announcement): the later window and due date stand.
func (o *Organisation) schedule(ob Obligation) {
	for i := range o.obligations {
		if o.obligations[i].ID == ob.ID {
			o.obligations[i].Kind, o.obligations[i].Cycle, o.obligations[i].WindowOpens, o.obligations[i].Due = ob.Kind, ob.Cycle, ob.WindowOpens, ob.Due
			return
		}
	}
	o.obligations = append(o.obligations, ob)
}

// kindInWords names what an obligation asks for.
func kindInWords(kind string) string {
	if kind == events.ObligationActionPlan {
		return "action plan"
	}
	return "self-assessment and action plan"
}
