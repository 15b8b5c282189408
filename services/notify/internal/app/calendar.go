package app

import (
	"context"
	"strings"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/services/notify/internal/ical"
)

// calendarPath is where a feed is served; the .ics suffix is what calendar
// applications expect of a subscription address.
func calendarPath(token string) string { return "/v1/calendars/" + token + ".ics" }

// mayReadFeed lets ops handle any organisation's feed address and a lead their own.
// Another organisation's is 404, as one without a feed is (docs/API.md: another
// organisation's objects are 404, so that the answer tells nothing of it).
func (a *App) mayReadFeed(by auth.Principal, org string) error {
	switch {
	case by.IsOps(), by.Role == auth.RoleLead && by.Org == org:
		return nil
	case by.Role == auth.RoleLead:
		return apperr.New(apperr.NotFound, "no calendar for organisation %s", org)
	}
	return apperr.New(apperr.Forbidden, "only ITSS operations staff and the organisation's lead handle its feed address")
}

func (a *App) announced(ctx context.Context, org string) (Organisation, error) {
	o, ok, err := a.orgs.Get(ctx, org)
	if err != nil {
		return o, err
	}
	if !ok || !o.Announced {
		return o, apperr.New(apperr.NotFound, "no calendar for organisation %s", org)
	}
	return o, nil
}

// CalendarURL returns the address of an organisation's feed (ops, or its lead).
func (a *App) CalendarURL(ctx context.Context, by auth.Principal, org string) (string, error) {
	if err := a.mayReadFeed(by, org); err != nil {
		return "", err
	}
	o, err := a.announced(ctx, org)
	if err != nil {
		return "", err
	}
	token, err := a.calendars.Current(ctx, o.ID, o.CalendarToken)
	if err != nil {
		return "", err
	}
	return a.cfg.PublicURL + calendarPath(token), nil
}

// RotateCalendar replaces an organisation's feed address (ops, or its lead): the old
// one stops answering, for whoever had it.
func (a *App) RotateCalendar(ctx context.Context, by auth.Principal, org string) (string, error) {
	if err := a.mayReadFeed(by, org); err != nil {
		return "", err
	}
	o, err := a.announced(ctx, org)
	if err != nil {
		return "", err
	}
	token, err := a.calendars.Rotate(ctx, o.ID)
	if err != nil {
		return "", err
	}
	return a.cfg.PublicURL + calendarPath(token), nil
}

// ChangeContacts records an organisation's contacts, as the event cause changed them.
// A new nominated lead gets a new feed address: the one the previous lead had stops
// answering. They and the lead before them are told of the hand-over (see handOver);
// a new head and the head before them of the change of head (see headChanged).
// The rotation and the hand-over's emails come first, so that a redelivery after a
// crash before the contacts are kept rotates and tells again rather than never (the
// emails, keyed by cause, are not sent twice).
func (a *App) ChangeContacts(ctx context.Context, cause, org string, f func(*Organisation)) error {
	o, _, err := a.get(ctx, org)
	if err != nil {
		return err
	}
	lead, head := o.Lead, o.Leader
	before := lead.Email
	f(&o)
	if err := a.handOver(ctx, cause, o, lead, head); err != nil {
		return err
	}
	if err := a.headChanged(ctx, cause, o, head, lead); err != nil {
		return err
	}
	if before != "" && !strings.EqualFold(before, o.Lead.Email) {
		if _, err := a.calendars.Rotate(ctx, o.ID); err != nil {
			return err
		}
	}
	if err := a.orgs.Put(ctx, o); err != nil {
		return err
	}
	if o.Lead.Email != "" && !strings.EqualFold(before, o.Lead.Email) {
		return a.sendWaiting(ctx, o.ID)
	}
	return nil
}

// Calendar renders the feed behind a live token ("<token>.ics" or the bare token):
// the organisation's current obligation, or an empty calendar once it is met or the
// organisation withdrew, so subscribers see the deadline disappear. A replaced token
// answers as one that never was.
func (a *App) Calendar(ctx context.Context, file string) ([]byte, error) {
	token := strings.TrimSuffix(file, ".ics")
	gone := apperr.New(apperr.NotFound, "no such calendar")
	if len(token) < 20 {
		return nil, gone
	}
	o, ok, err := a.orgs.ByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if !ok {
		org, issued, err := a.calendars.Owner(ctx, token)
		if err != nil {
			return nil, err
		}
		if !issued {
			return nil, gone
		}
		if o, ok, err = a.orgs.Get(ctx, org); err != nil {
			return nil, err
		}
		if !ok {
			return nil, gone
		}
	}
	live, err := a.calendars.Current(ctx, o.ID, o.CalendarToken)
	if err != nil {
		return nil, err
	}
	if live != token {
		return nil, gone
	}
	var evs []ical.Event
	if ob := o.Obligation; ob != nil && !ob.Met && !o.Withdrawn {
		w := what(ob.Kind)
		// Revised as the reminders' entries of the due date are (ical.SequenceAt):
		// the feed states the obligation as it is now.
		seq := ical.SequenceAt(a.clock.Now())
		evs = append(evs,
			ical.Event{UID: ob.ID + "-window@technician-commitment.itss.org.uk", On: ob.WindowOpens, Summary: "Technician Commitment " + w + " window opens", Sequence: seq},
			ical.Event{UID: dueUID(ob.ID), On: ob.Due, Summary: "Technician Commitment " + w + " due", URL: a.obligationURL(o.ID), Sequence: seq},
		)
	}
	return ical.Calendar(orgCalendar(o.Name), a.cfg.Organizer, evs, a.clock.Now()), nil
}
