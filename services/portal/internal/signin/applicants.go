package signin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/store"
)

// Applicant is a colleague an organisation's nominated lead named to make and revoke
// API tokens for the organisation's tools. The suite's other records do not know
// them: the portal keeps them, so that they can sign in with a one-time link like
// the lead, and forgets them when the lead removes them.
type Applicant struct {
	OrgID   string
	OrgName string
	Name    string
	Email   string
}

type applicantDoc struct {
	ID      string    `bson:"_id"` // organisation and address: one record per pair
	OrgID   string    `bson:"org"`
	OrgName string    `bson:"org_name,omitempty"`
	Email   string    `bson:"email"`
	Name    string    `bson:"name"`
	AddedBy string    `bson:"added_by"` // the lead's pseudonym
	Added   time.Time `bson:"added_at"`
}

func applicantID(org, email string) string { return org + "|" + NormaliseEmail(email) }

// ApplicantOf returns the record naming the person an applicant for org, if one does.
func (p Person) ApplicantOf(org string) (Applicant, bool) {
	for _, a := range p.Applicant {
		if a.OrgID == org {
			return a, true
		}
	}
	return Applicant{}, false
}

// ErrNotTheLead says the person naming a colleague was no longer the organisation's
// nominated lead when the colleague was written.
var ErrNotTheLead = errors.New("signin: no longer the organisation's nominated lead")

// AddApplicant records a as an applicant for a.OrgID, named by the lead whose
// pseudonym is by. Naming the same address again updates the name.
func (p *People) AddApplicant(ctx context.Context, a Applicant, by string, at time.Time) error {
	doc := applicantDoc{ID: applicantID(a.OrgID, a.Email), OrgID: a.OrgID, OrgName: a.OrgName, Email: NormaliseEmail(a.Email),
		Name: a.Name, AddedBy: by, Added: at.UTC()}
	if err := p.point(ctx, doc.Email, slotApplicant, a.OrgID); err != nil {
		return err
	}
	if err := store.Replace(ctx, p.applicants, doc.ID, doc); err != nil {
		return fmt.Errorf("add applicant for %s: %w", a.OrgID, store.Classify(err))
	}
	return nil
}

// AddApplicantAsLead is AddApplicant by the organisation's nominated lead, whose
// address is lead. The power is the lead's to lend and ends with them (SetLead drops
// the colleagues of a lead replaced), so the colleague is written, then the lead
// read again: a handover between the caller's check and the write would otherwise
// find no colleague to drop, and the outgoing lead's colleague would keep the power.
// A lead no longer lead takes the colleague off again, and answers ErrNotTheLead.
func (p *People) AddApplicantAsLead(ctx context.Context, a Applicant, lead string, at time.Time) error {
	by := p.pseudonyms.Of(lead)
	if err := p.AddApplicant(ctx, a, by, at); err != nil {
		return err
	}
	var now leadDoc
	ok, err := findByID(ctx, p.leads, a.OrgID, &now)
	if err != nil {
		return fmt.Errorf("add applicant for %s: read its lead: %w", a.OrgID, err)
	}
	if ok && now.Email == NormaliseEmail(lead) {
		return nil
	}
	if _, err := p.applicants.DeleteOne(ctx, bson.D{{Key: "_id", Value: applicantID(a.OrgID, a.Email)}, {Key: "added_by", Value: by}}); err != nil {
		return fmt.Errorf("take off applicant for %s named by a lead replaced: %w", a.OrgID, store.Classify(err))
	}
	return ErrNotTheLead
}

// RecordRemovalsIn makes every removal of a colleague entered first in the register
// of ended sign-ins, so that a restore of the portal's database does not give a
// colleague removed since the backup their power back (Mend). Without it (the read
// model's own tests) removals are not entered.
func (p *People) RecordRemovalsIn(e *Ended) error {
	if e == nil {
		return errors.New("signin: the register of ended sign-ins is nil")
	}
	p.ended = e
	return nil
}

// RemoveApplicant forgets email as an applicant for org; they lose access at once.
// The removal is entered in the register of ended sign-ins first: one the register
// does not take changes nothing, and says so (apperr.Unavailable).
func (p *People) RemoveApplicant(ctx context.Context, org, email string) error {
	id := applicantID(org, email)
	if p.ended != nil {
		if err := p.ended.record(ctx, endedColleague, Digest(id)); err != nil {
			return fmt.Errorf("remove applicant for %s: %w", org, err)
		}
	}
	if _, err := p.applicants.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return fmt.Errorf("remove applicant for %s: %w", org, store.Classify(err))
	}
	return nil
}

// removeEnded deletes the colleagues whose record's digest the register names as
// removed after they were named (a colleague named again since stays), and returns
// how many it deleted.
func (p *People) removeEnded(ctx context.Context, ended map[string]time.Time) (int, error) {
	cur, err := p.applicants.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "added_at", Value: 1}}))
	if err != nil {
		return 0, fmt.Errorf("read applicants: %w", store.Classify(err))
	}
	var docs []struct {
		ID    string    `bson:"_id"`
		Added time.Time `bson:"added_at"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return 0, fmt.Errorf("read applicants: %w", store.Classify(err))
	}
	var removedSince []string
	for _, d := range docs {
		if at, named := ended[Digest(d.ID)]; named && d.Added.Before(at) {
			removedSince = append(removedSince, d.ID)
		}
	}
	return deleteIDs(ctx, p.applicants, removedSince)
}

// Applicants lists org's applicants, by name.
func (p *People) Applicants(ctx context.Context, org string) ([]Applicant, error) {
	return p.findApplicants(ctx, bson.D{{Key: "org", Value: org}})
}

func (p *People) findApplicants(ctx context.Context, filter bson.D) ([]Applicant, error) {
	cur, err := p.applicants.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(200))
	if err != nil {
		return nil, fmt.Errorf("look up applicants: %w", store.Classify(err))
	}
	var docs []applicantDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read applicants: %w", store.Classify(err))
	}
	out := make([]Applicant, 0, len(docs))
	for _, d := range docs {
		out = append(out, Applicant{OrgID: d.OrgID, OrgName: d.OrgName, Name: d.Name, Email: d.Email})
	}
	return out, nil
}

// LeadMakers is org's nominated lead now by every pseudonym a token they made may
// hold (as TokenMakers gives them), none when org has no lead: read before a change
// of contacts is taken in, it is who the change may have taken the power from.
func (p *People) LeadMakers(ctx context.Context, org string) ([]string, error) {
	var l leadDoc
	ok, err := findByID(ctx, p.leads, org, &l)
	if err != nil {
		return nil, fmt.Errorf("read the lead of %s: %w", org, err)
	}
	if !ok || l.Email == "" {
		return nil, nil
	}
	return p.pseudonyms.All(l.Email), nil
}

// TokenMakers is who may make org's API tokens now, each by every pseudonym (the
// creator an API token's record names) a token they made may hold (Pseudonyms.All:
// the keyed one, and the unkeyed one of tokens made before pseudonyms were keyed):
// its nominated lead and the colleagues named to make them; and the lead's name,
// empty when org has no lead.
func (p *People) TokenMakers(ctx context.Context, org string) (makers []string, lead string, err error) {
	var l leadDoc
	ok, err := findByID(ctx, p.leads, org, &l)
	if err != nil {
		return nil, "", fmt.Errorf("read the lead of %s: %w", org, err)
	}
	if ok && l.Email != "" {
		makers, lead = append(makers, p.pseudonyms.All(l.Email)...), l.Name
	}
	colleagues, err := p.Applicants(ctx, org)
	if err != nil {
		return nil, "", err
	}
	for _, a := range colleagues {
		makers = append(makers, p.pseudonyms.All(a.Email)...)
	}
	return makers, lead, nil
}
