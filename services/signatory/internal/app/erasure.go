package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

// People is what erasure needs of the per-person keys (personal.Keys): a person is
// found by the digest of their address (personal.Subject).
type People interface {
	LookupSubject(ctx context.Context, subject string) (string, error)
	Erase(ctx context.Context, id string) error
}

// StoredEvents reads events as stored, personal fields sealed: one organisation's
// (personal.SealedStore.Raw), or the whole log (store.EventStore.All).
type StoredEvents interface {
	Raw(ctx context.Context, aggregateID string) ([]events.Envelope, error)
	All(ctx context.Context) ([]events.Envelope, error)
}

// Stream removes what the service's stream carries about an organisation: copies
// of its events published with the personal fields opened.
type Stream interface {
	Forget(ctx context.Context, aggregateID string) (int, error)
}

// Records forgets a person, by the digest of their address, in the service's own
// records beside its events: the stored answers of idempotent requests (an enquiry
// names its contact).
type Records interface {
	Forget(ctx context.Context, subject string) error
}

// Register is the suite's register of erasures, kept where a restore of the
// databases does not reach (bus.ErasureRegister): for each person erased, by
// the digest of their address, the version of the last announcement of their
// erasure (the PersonAggregate's).
type Register interface {
	Record(ctx context.Context, subject string, version int) error
	Latest(ctx context.Context) (map[string]int, error)
}

// Erasure is what the app needs to erase a person.
type Erasure struct {
	People   People
	Stored   StoredEvents
	Stream   Stream
	Records  Records
	Register Register
}

// UseErasure gives the app what erasing a person takes.
func (a *App) UseErasure(e Erasure) error {
	if e.People == nil || e.Stored == nil || e.Stream == nil || e.Records == nil || e.Register == nil {
		return errors.New("app: erasure needs the person keys, the stored events, the stream, the records and the register of erasures")
	}
	a.erasure = &e
	return nil
}

// Erased is what an erasure did.
type Erased struct {
	// Organisations are those whose events named the person.
	Organisations []ErasedFrom
}

// ErasedFrom is one organisation that named the erased person, as it stands after.
type ErasedFrom struct {
	ID string
	// NeedsNominatedLead says the person was its nominated lead: it must name another.
	NeedsNominatedLead bool
	// StreamMessages is how many of its published events the stream dropped.
	StreamMessages int
}

// Erase forgets the person with this email address, at their request (ops only).
// Every organisation that names them in its current contacts records that they are
// erased (a contacts change that other services apply like any other: they drop the
// address and stop writing to it); then the person's key is destroyed, so that every
// sealed copy of their name, title and address in the event store reads as erased;
// then the stream forgets the organisations' published events, which carried them
// opened, and the views are projected again without them. The erasure is entered in
// the register of erasures as soon as it is announced, so that a restore of the
// databases from a backup taken before cannot bring the person back (RedoErasures).
//
// Run again after a failure, it picks up where it stopped: until the key is gone the
// person is found, and the steps before it have no second effect.
func (a *App) Erase(ctx context.Context, by auth.Principal, email string) (Erased, error) {
	if !by.IsOps() {
		return Erased{}, apperr.New(apperr.Forbidden, "only ITSS operations staff erase a person")
	}
	if a.erasure == nil {
		return Erased{}, apperr.New(apperr.Unavailable, "erasure is not set up in this service")
	}
	if strings.TrimSpace(email) == "" {
		return Erased{}, apperr.Field("email", "is required")
	}
	return a.erase(ctx, by.Actor(), personal.Subject(email))
}

// erase is Erase of the person whose address has the digest sub.
func (a *App) erase(ctx context.Context, actor, sub string) (Erased, error) {
	// An enquiry's stored answer names its contact whether or not an organisation
	// still does: forgotten first, so that a run cut short tries it again.
	if err := a.erasure.Records.Forget(ctx, sub); err != nil {
		return Erased{}, err
	}
	pid, err := a.erasure.People.LookupSubject(ctx, sub)
	if errors.Is(err, personal.ErrNoSuchPerson) {
		// The signatory service names no one by it (never, or no longer): the other
		// services may (a reviewer, an applicant), and are told all the same.
		version, err := a.announceErasure(ctx, actor, sub)
		if err != nil {
			return Erased{}, err
		}
		return Erased{Organisations: []ErasedFrom{}}, a.erasure.Register.Record(ctx, sub, version)
	}
	if err != nil {
		return Erased{}, err
	}
	ids, err := a.naming(ctx, pid)
	if err != nil {
		return Erased{}, err
	}
	named := func(email string) bool { return email != "" && personal.Subject(email) == sub }
	for _, id := range ids {
		if _, err := a.change(ctx, actor, "", id, func(o *organisation.Organisation) ([]events.Payload, error) {
			return o.ErasePersonMatching(named)
		}); err != nil {
			return Erased{}, err
		}
	}
	if err := a.erasure.People.Erase(ctx, pid); err != nil {
		return Erased{}, err
	}
	// A change that sealed the person's details with their key before it was
	// destroyed, and was appended after the look above, names them too: its stream
	// copy carries their address opened for the other services. Looked for again
	// now that no change can seal for them any more (the key is gone), and forgotten
	// with the rest below.
	again, err := a.naming(ctx, pid)
	if err != nil {
		return Erased{}, err
	}
	for _, id := range again {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	version, err := a.announceErasure(ctx, actor, sub)
	if err != nil {
		return Erased{}, err
	}
	if err := a.erasure.Register.Record(ctx, sub, version); err != nil {
		return Erased{}, err
	}
	out := Erased{Organisations: []ErasedFrom{}}
	for _, id := range ids {
		n, err := a.erasure.Stream.Forget(ctx, id)
		if err != nil {
			return out, err
		}
		if err := a.Project(ctx, id); err != nil {
			return out, err
		}
		o, err := a.load(ctx, id)
		if err != nil {
			return out, err
		}
		out.Organisations = append(out.Organisations, ErasedFrom{ID: id, NeedsNominatedLead: o.NeedsNominatedLead(), StreamMessages: n})
	}
	return out, nil
}

// PersonAggregate is the aggregate type of the erasures announced for a person: one
// per address digest, so each announcement has its own version and none is lost.
const PersonAggregate = "person"

// announceErasure records events.PersonErasedV1, which every other service consumes
// to forget the person in what it holds (ops erase a person once), and returns the
// announcement's version. The event names them only by the digest of their address.
func (a *App) announceErasure(ctx context.Context, actor, sub string) (int, error) {
	appended, err := a.events.Execute(ctx, store.Command{AggregateType: PersonAggregate, AggregateID: "person-" + sub, Actor: actor,
		Decide: func([]events.Envelope) ([]events.Payload, error) {
			return []events.Payload{events.PersonErasedV1{Subject: sub}}, nil
		}})
	if err != nil {
		return 0, err
	}
	if len(appended) == 0 {
		return 0, errors.New("erasure: the announcement appended no event")
	}
	return appended[len(appended)-1].Version, nil
}

// RedoErasures makes again every erasure of the register that the event log does not
// hold: after a restore of the databases from a backup taken before it, the log's
// announcements of a person's erasure fall short of the register's, and the person
// is back in every service's database (their key, their address in the read models).
// Each is erased again as Erase would (the other services are told once more, and
// forget them again), and entered in the register anew. It returns how many it made
// again; the service runs it at every start, before it serves (a start that finds
// the log complete reads each erased person's announcements, a few at a time).
func (a *App) RedoErasures(ctx context.Context) (int, error) {
	if a.erasure == nil {
		return 0, errors.New("erasure is not set up in this service")
	}
	latest, err := a.erasure.Register.Latest(ctx)
	if err != nil {
		return 0, err
	}
	subs := slices.Sorted(maps.Keys(latest))
	ids := make([]string, len(subs))
	for i, sub := range subs {
		ids[i] = "person-" + sub
	}
	announced, err := a.events.LoadMany(ctx, ids)
	if err != nil {
		return 0, err
	}
	redone := 0
	for _, sub := range subs {
		if held := announced["person-"+sub]; len(held) > 0 && held[len(held)-1].Version >= latest[sub] {
			continue
		}
		if _, err := a.erase(ctx, RedoActor, sub); err != nil {
			return redone, fmt.Errorf("erase again a person erased since the backup: %w", err)
		}
		redone++
	}
	return redone, nil
}

// RegisterMark is the service's record, in its database, that the register of
// erasures holds every erasure of its event log: Filled says so of the register as it
// is now (a register made anew since, when NATS lost its volumes, is not filled).
type RegisterMark interface {
	Filled(ctx context.Context) (bool, error)
	MarkFilled(ctx context.Context) error
}

// FillErasureRegister enters in the register every erasure the event log announces,
// unless mark says the register holds them already: at the first start with the
// register (erasures made before it came), and after the register was made anew. It
// reads the whole log, once; it returns how many people it entered. Entering an
// erasure the register holds already changes nothing.
func (a *App) FillErasureRegister(ctx context.Context, mark RegisterMark) (int, error) {
	if a.erasure == nil {
		return 0, errors.New("erasure is not set up in this service")
	}
	filled, err := mark.Filled(ctx)
	if err != nil || filled {
		return 0, err
	}
	all, err := a.erasure.Stored.All(ctx)
	if err != nil {
		return 0, err
	}
	latest := map[string]int{}
	for _, e := range all {
		if e.AggregateType == PersonAggregate {
			sub := strings.TrimPrefix(e.AggregateID, "person-")
			latest[sub] = max(latest[sub], e.Version)
		}
	}
	for _, sub := range slices.Sorted(maps.Keys(latest)) {
		if err := a.erasure.Register.Record(ctx, sub, latest[sub]); err != nil {
			return 0, err
		}
	}
	return len(latest), mark.MarkFilled(ctx)
}

// RedoActor is who the audit trail says erased a person again after a restore.
const RedoActor = "system:erasure-register"

// naming lists the organisations whose stored events hold a value sealed for the
// person. It reads the whole log once, which an erasure or a subject access request
// (rare acts) can afford, so that nothing else need index who names whom, and an
// organisation is found even before its view is projected.
func (a *App) naming(ctx context.Context, pid string) ([]string, error) {
	all, err := a.erasure.Stored.All(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range all {
		if e.AggregateType == organisation.AggregateType && personal.Mentions(e.Data, pid) && !slices.Contains(ids, e.AggregateID) {
			ids = append(ids, e.AggregateID)
		}
	}
	return ids, nil
}

// Held is what the service holds about one person.
type Held struct {
	Organisations []HeldBy
	// Acted are the organisations the person changed, as one of the actors asked
	// for, with the events of those changes.
	Acted []ActedIn
}

// ActedIn is one organisation the person changed and the events they recorded, opened,
// the other people those name shown as another person.
type ActedIn struct {
	ID, Name string
	Events   []events.Envelope
}

// HeldBy is one organisation that names the person: the roles they hold there now
// and every event of its log that names them, opened.
type HeldBy struct {
	ID, Name string
	Roles    []string
	Events   []events.Envelope
}

// SubjectAccess gathers what the service holds about the person with this address
// (ops only): the organisations that name them, and those they changed as one of
// actors (how the audit trail records them: a lead by the portal's pseudonym, ITSS
// staff by their OpenID subject, neither of which the address tells the service).
// A person it names no one by, and who changed nothing, has nothing held.
func (a *App) SubjectAccess(ctx context.Context, by auth.Principal, email string, actors []string) (Held, error) {
	if !by.IsOps() {
		return Held{}, apperr.New(apperr.Forbidden, "only ITSS operations staff answer subject access requests")
	}
	if a.erasure == nil {
		return Held{}, apperr.New(apperr.Unavailable, "subject access is not set up in this service")
	}
	out := Held{Organisations: []HeldBy{}, Acted: []ActedIn{}}
	if len(actors) > 0 {
		var err error
		if out.Acted, err = a.actedIn(ctx, email, actors); err != nil {
			return Held{}, err
		}
	}
	pid, err := a.erasure.People.LookupSubject(ctx, personal.Subject(email))
	if errors.Is(err, personal.ErrNoSuchPerson) {
		return out, nil
	}
	if err != nil {
		return Held{}, err
	}
	ids, err := a.naming(ctx, pid)
	if err != nil {
		return Held{}, err
	}
	for _, id := range ids {
		stored, err := a.erasure.Stored.Raw(ctx, id)
		if err != nil {
			return Held{}, err
		}
		opened, err := a.events.Load(ctx, id)
		if err != nil {
			return Held{}, err
		}
		o, err := organisation.Rebuild(id, opened)
		if err != nil {
			return Held{}, err
		}
		held := HeldBy{ID: id, Name: o.Enquiry().Name, Roles: rolesOf(o, email)}
		for i, e := range stored {
			if personal.Mentions(e.Data, pid) && i < len(opened) {
				// The event as it names this person: the others it names (the head
				// beside the lead) are theirs, not this person's, to be given.
				ev := opened[i]
				ev.Data = personal.RedactOthersJSON(ev.Data, email)
				held.Events = append(held.Events, ev)
			}
		}
		out.Organisations = append(out.Organisations, held)
	}
	return out, nil
}

// actedIn lists the organisations changed by one of actors, each with the events of
// those changes, opened, and the people they name but the person with this address
// shown as another person. It reads the whole log once, as naming does.
func (a *App) actedIn(ctx context.Context, email string, actors []string) ([]ActedIn, error) {
	all, err := a.erasure.Stored.All(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	made := map[string]bool{} // event ids
	for _, e := range all {
		if e.AggregateType == organisation.AggregateType && slices.Contains(actors, e.Actor) {
			made[e.ID] = true
			if !slices.Contains(ids, e.AggregateID) {
				ids = append(ids, e.AggregateID)
			}
		}
	}
	out := []ActedIn{}
	for _, id := range ids {
		opened, err := a.events.Load(ctx, id)
		if err != nil {
			return nil, err
		}
		o, err := organisation.Rebuild(id, opened)
		if err != nil {
			return nil, err
		}
		in := ActedIn{ID: id, Name: o.Enquiry().Name}
		for _, e := range opened {
			if made[e.ID] {
				e.Data = personal.RedactOthersJSON(e.Data, email)
				in.Events = append(in.Events, e)
			}
		}
		out = append(out, in)
	}
	return out, nil
}

// rolesOf lists the roles the person with this address holds in the organisation now.
func rolesOf(o *organisation.Organisation, email string) []string {
	target := personal.Normalise(email)
	c := o.Contacts()
	roles := []string{}
	for _, r := range []struct {
		name string
		p    organisation.Person
	}{{"enquiry_contact", o.Enquiry().Contact}, {"leader", c.Leader}, {"nominated_lead", c.NominatedLead}, {"point_of_contact", c.PointOfContact}} {
		if r.p.Email != "" && personal.Normalise(r.p.Email) == target {
			roles = append(roles, r.name)
		}
	}
	return roles
}
