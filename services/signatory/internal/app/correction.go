package app

import (
	"context"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/precondition"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

// CorrectAnnouncement corrects the date of an organisation's announcement (ops only),
// and with it its first obligation (see organisation.CorrectAnnouncement). match is
// the organisation's versions the caller read (If-Match), checked in the command
// that appends, as for ChangeContacts.
func (a *App) CorrectAnnouncement(ctx context.Context, by auth.Principal, id string, match precondition.Versions, on civil.Date) (*organisation.Organisation, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff correct the date of an announcement")
	}
	return a.changeAt(ctx, by.Actor(), id, match, "correction", func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.CorrectAnnouncement(on, a.policy, a.Today())
	})
}

// CorrectMeeting corrects the day ITSS met an organisation (ops only; see
// organisation.CorrectMeeting). match is the organisation's versions the caller read
// (If-Match), checked in the command that appends, as for ChangeContacts.
func (a *App) CorrectMeeting(ctx context.Context, by auth.Principal, id string, match precondition.Versions, on civil.Date) (*organisation.Organisation, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff correct the day of a meeting")
	}
	return a.changeAt(ctx, by.Actor(), id, match, "correction", func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.CorrectMeeting(on, a.Today())
	})
}

// CorrectForm corrects the day an organisation's form was signed (ops only; see
// organisation.CorrectForm). match is the organisation's versions the caller read
// (If-Match), checked in the command that appends, as for ChangeContacts.
func (a *App) CorrectForm(ctx context.Context, by auth.Principal, id string, match precondition.Versions, on civil.Date) (*organisation.Organisation, error) {
	if !by.IsOps() {
		return nil, apperr.New(apperr.Forbidden, "only ITSS operations staff correct the day a form was signed")
	}
	return a.changeAt(ctx, by.Actor(), id, match, "correction", func(o *organisation.Organisation) ([]events.Payload, error) {
		return o.CorrectForm(on, a.Today())
	})
}
