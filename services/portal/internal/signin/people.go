// Package signin is who may use the portal and how they prove it: the people read
// model (nominated leads and reviewers, from the services' events), one-time sign-in
// links, sessions, and the short-lived tokens the portal signs for them.
package signin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
)

// Lead is an organisation's nominated lead, as the signatory service records them.
type Lead struct {
	OrgID   string
	OrgName string
	Name    string
	// Since is when the change that named them was made (its event's time), which
	// SetLead records for LeadSince; zero when not known. Lookup leaves it out.
	Since time.Time
}

// Reviewer is a member of the reviewer pool, as the review service records them.
type Reviewer struct {
	ID    string
	OrgID string
	Name  string
}

// Person is who an email address is in the suite's records: the lead of some
// organisations, a reviewer, both or neither. It is worked out afresh on every
// request, so that a lead replaced by their organisation loses access at once.
type Person struct {
	Email    string
	Leads    []Lead
	Reviewer *Reviewer
	// Applicant lists the organisations whose lead named the person to make API
	// tokens for its tools (see applicants.go).
	Applicant []Applicant
	// Pseudonym is what the portal records the person by where the address must
	// not be (Pseudonyms.Of their address), set by People.Lookup.
	Pseudonym string
}

// Known reports whether the records hold the address at all.
func (p Person) Known() bool { return len(p.Leads) > 0 || p.Reviewer != nil || len(p.Applicant) > 0 }

// LeadOf returns the lead record for org, when the person is its nominated lead.
func (p Person) LeadOf(org string) (Lead, bool) {
	for _, l := range p.Leads {
		if l.OrgID == org {
			return l, true
		}
	}
	return Lead{}, false
}

// Name is what the person is called in the records.
func (p Person) Name() string {
	if len(p.Leads) > 0 && p.Leads[0].Name != "" {
		return p.Leads[0].Name
	}
	if p.Reviewer != nil {
		return p.Reviewer.Name
	}
	if len(p.Applicant) > 0 {
		return p.Applicant[0].Name
	}
	return ""
}

// AsLead is the principal the services see when the person acts as org's lead. The
// subject is their pseudonym, not the address: it lands in the services' audit
// trail, which keeps no emails, and only the portal can tell whose it is. A person
// not found by People.Lookup has none, and a token with no subject is refused by
// every service.
func (p Person) AsLead(org string) auth.Principal {
	return auth.Principal{Subject: p.Pseudonym, Role: auth.RoleLead, Org: org}
}

// AsReviewer is the principal the services see when the person acts as a reviewer:
// the review service knows them by their reviewer id.
func (p Person) AsReviewer() (auth.Principal, bool) {
	if p.Reviewer == nil {
		return auth.Principal{}, false
	}
	return auth.Principal{Subject: p.Reviewer.ID, Role: auth.RoleReviewer, Org: p.Reviewer.OrgID}, true
}

// NormaliseEmail is the form addresses are compared in.
func NormaliseEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// People is the read model of who may sign in: one document per organisation's
// nominated lead, one per reviewer and one per applicant, and the addresses that
// find them by _id (addresses.go). It keeps nothing else of the services' data.
type People struct {
	leads      *mongo.Collection
	reviewers  *mongo.Collection
	applicants *mongo.Collection
	addresses  *mongo.Collection
	ended      *Ended // see RecordRemovalsIn
	pseudonyms Pseudonyms
	// underWay says which erasures are under way (see again).
	underWay *mongo.Collection
}

type leadDoc struct {
	OrgID   string `bson:"_id"`
	OrgName string `bson:"org_name,omitempty"`
	Email   string `bson:"email"`
	Name    string `bson:"name"`
	// Since is Lead.Since; absent from records older than it.
	Since time.Time `bson:"since,omitempty"`
}

type reviewerDoc struct {
	ID    string `bson:"_id"`
	OrgID string `bson:"org_id"`
	Email string `bson:"email"`
	Name  string `bson:"name"`
}

// NewPeople opens the read model's collections in db, and gives the records kept
// before the addresses existed their addresses. People are recorded by the
// pseudonyms ps makes (the colleagues a lead named, the people it finds).
func NewPeople(ctx context.Context, db *mongo.Database, ps Pseudonyms) (*People, error) {
	if db == nil || !ps.Keyed() {
		return nil, errors.New("signin: a database and keyed pseudonyms are required")
	}
	p := &People{leads: db.Collection("leads"), reviewers: db.Collection("reviewers"), applicants: db.Collection("applicants"),
		addresses: db.Collection(addressesCollection), pseudonyms: ps, underWay: db.Collection(personal.UnderWayCollection)}
	// A lead's page of applicants asks for an organisation's (MongoDB answers it from
	// this index; the embedded store has none but _id's). Nothing asks by email any
	// more: the addresses answer that.
	if err := store.CreateIndexes(ctx, p.applicants, []mongo.IndexModel{{Keys: bson.D{{Key: "org", Value: 1}}}}); err != nil {
		return nil, fmt.Errorf("index %s: %w", p.applicants.Name(), store.Classify(err))
	}
	if err := p.backfill(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Pseudonyms are the pseudonyms people are recorded by.
func (p *People) Pseudonyms() Pseudonyms { return p.pseudonyms }

// SetLead records org's nominated lead. An empty email removes the record: an
// organisation without a lead's address has nobody to sign in for it. The address
// is given its slot before the record names it, so that a record is never without
// the slot that finds it; the slot of a lead replaced stays, and finds nothing.
func (p *People) SetLead(ctx context.Context, org string, lead Lead, email string) error {
	return p.again(ctx, func() error { return p.setLead(ctx, org, lead, email) })
}

// again makes write, and makes it again once an erasure that overlapped it is done
// (personal.AwaitForgetting). The erasure's consumer deletes every record holding the
// erased address (service.forgetErased), reading them all first: a record written
// anew between its read and its delete (a hand-over to a new lead as the outgoing
// one is erased, a reviewer's address corrected as the old one is) was deleted, and
// the new lead or the reviewer could not sign in (10 to 15 rounds of 40). A record
// written again for a person whose own erasure overlapped it is taken away by the
// event that follows in its stream (the signatory's contacts change naming nobody,
// the review service's removal of the pool member).
func (p *People) again(ctx context.Context, write func() error) error {
	since := time.Now()
	if err := write(); err != nil {
		return err
	}
	overlapped, err := personal.AwaitForgetting(ctx, p.underWay, since)
	if err != nil || !overlapped {
		return err
	}
	return write()
}

func (p *People) setLead(ctx context.Context, org string, lead Lead, email string) error {
	email = NormaliseEmail(email)
	if email == "" {
		return p.RemoveLead(ctx, org)
	}
	if err := p.point(ctx, email, slotLead, org); err != nil {
		return err
	}
	set := bson.D{{Key: "email", Value: email}, {Key: "name", Value: lead.Name}}
	if lead.OrgName != "" {
		set = append(set, bson.E{Key: "org_name", Value: lead.OrgName})
	}
	if !lead.Since.IsZero() {
		set = append(set, bson.E{Key: "since", Value: lead.Since.UTC()})
	}
	err := store.Update(ctx, p.leads, org, bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return fmt.Errorf("set lead of %s: %w", org, store.Classify(err))
	}
	// The colleagues this lead named are kept, whichever pseudonym they were
	// recorded under: one named before pseudonyms were keyed has the unkeyed one, and
	// a replay of the lead's announcement must not drop them.
	return p.dropColleagues(ctx, org, bson.D{{Key: "added_by", Value: bson.D{{Key: "$nin", Value: p.pseudonyms.All(email)}}}})
}

// RenameOrganisation records org's name as ITSS corrected it
// (OrganisationDetailsCorrectedV1) in its lead's record and in those of the
// colleagues the lead named, from which the portal's pages and messages name it. An
// organisation with no lead here yet records nothing: the announcement that names
// its lead carries the name as corrected.
func (p *People) RenameOrganisation(ctx context.Context, org, name string) error {
	set := bson.D{{Key: "$set", Value: bson.D{{Key: "org_name", Value: name}}}}
	if _, err := p.leads.UpdateOne(ctx, bson.D{{Key: "_id", Value: org}}, set); err != nil {
		return fmt.Errorf("rename the organisation of the lead of %s: %w", org, store.Classify(err))
	}
	if _, err := p.applicants.UpdateMany(ctx, bson.D{{Key: "org", Value: org}}, set); err != nil {
		return fmt.Errorf("rename the organisation of the applicants of %s: %w", org, store.Classify(err))
	}
	return nil
}

// LeadSince is when the change that made org's lead who the records now say was
// made (Lead.Since): a token made now is made under that change, and only a later
// one can take its maker's power away (apitokens.Request.LeadSince). Zero when org
// has no lead, or the record is older than it.
func (p *People) LeadSince(ctx context.Context, org string) (time.Time, error) {
	var l leadDoc
	if _, err := findByID(ctx, p.leads, org, &l); err != nil {
		return time.Time{}, fmt.Errorf("read the lead of %s: %w", org, err)
	}
	return l.Since, nil
}

// RemoveLead forgets org's lead, and the colleagues they named.
func (p *People) RemoveLead(ctx context.Context, org string) error {
	if _, err := p.leads.DeleteOne(ctx, bson.D{{Key: "_id", Value: org}}); err != nil {
		return fmt.Errorf("remove lead of %s: %w", org, store.Classify(err))
	}
	return p.dropColleagues(ctx, org, nil)
}

// dropColleagues forgets org's colleagues (applicants) that also match filter: the
// power to make the organisation's API tokens is the lead's to lend, and ends with
// the lead who lent it. A colleague named by a lead who has handed the role on
// (perhaps the lead's own second address) kept making tokens, unknown to the new
// lead; the new lead names whom they choose. The tokens they made are revoked with
// the outgoing lead's (apitokens.Store.RevokeUnlent, after each change of lead).
func (p *People) dropColleagues(ctx context.Context, org string, filter bson.D) error {
	if _, err := p.applicants.DeleteMany(ctx, append(bson.D{{Key: "org", Value: org}}, filter...)); err != nil {
		return fmt.Errorf("drop the colleagues of %s's previous lead: %w", org, store.Classify(err))
	}
	return nil
}

// SetReviewer records a pool member.
func (p *People) SetReviewer(ctx context.Context, r Reviewer, email string) error {
	return p.again(ctx, func() error { return p.setReviewer(ctx, r, email) })
}

func (p *People) setReviewer(ctx context.Context, r Reviewer, email string) error {
	doc := reviewerDoc{ID: r.ID, OrgID: r.OrgID, Email: NormaliseEmail(email), Name: r.Name}
	if err := p.point(ctx, doc.Email, slotReviewer, r.ID); err != nil {
		return err
	}
	err := store.Replace(ctx, p.reviewers, r.ID, doc)
	if err != nil {
		return fmt.Errorf("set reviewer %s: %w", r.ID, store.Classify(err))
	}
	return nil
}

// Lookup returns who email is in the records. It reads the address's slots and then
// each record they name, all by _id, and keeps only the records that still hold the
// address: its cost is the person's own records, however many people there are.
func (p *People) Lookup(ctx context.Context, email string) (Person, error) {
	email = NormaliseEmail(email)
	person := Person{Email: email}
	if email == "" {
		return person, nil
	}
	person.Pseudonym = p.pseudonyms.Of(email)
	slots, err := p.slots(ctx, email)
	if err != nil {
		return person, err
	}
	seen := map[[2]string]bool{} // kind and record
	for _, s := range slots {
		if seen[[2]string{s.Kind, s.Ref}] {
			continue
		}
		seen[[2]string{s.Kind, s.Ref}] = true
		switch s.Kind {
		case slotLead:
			var l leadDoc
			if ok, err := findByID(ctx, p.leads, s.Ref, &l); err != nil {
				return person, fmt.Errorf("look up lead of %s: %w", s.Ref, err)
			} else if ok && l.Email == email {
				person.Leads = append(person.Leads, Lead{OrgID: l.OrgID, OrgName: l.OrgName, Name: l.Name})
			}
		case slotReviewer:
			var r reviewerDoc
			if ok, err := findByID(ctx, p.reviewers, s.Ref, &r); err != nil {
				return person, fmt.Errorf("look up reviewer %s: %w", s.Ref, err)
			} else if ok && r.Email == email && (person.Reviewer == nil || r.ID < person.Reviewer.ID) {
				person.Reviewer = &Reviewer{ID: r.ID, OrgID: r.OrgID, Name: r.Name}
			}
		case slotApplicant:
			var a applicantDoc
			if ok, err := findByID(ctx, p.applicants, applicantID(s.Ref, email), &a); err != nil {
				return person, fmt.Errorf("look up applicant for %s: %w", s.Ref, err)
			} else if ok {
				person.Applicant = append(person.Applicant, Applicant{OrgID: a.OrgID, OrgName: a.OrgName, Name: a.Name, Email: a.Email})
			}
		}
	}
	slices.SortFunc(person.Leads, func(a, b Lead) int { return strings.Compare(a.OrgID, b.OrgID) })
	slices.SortFunc(person.Applicant, func(a, b Applicant) int { return strings.Compare(a.OrgID, b.OrgID) })
	return person, nil
}

// findByID reads the document of coll with _id id into out, and reports whether
// there is one.
func findByID(ctx context.Context, coll *mongo.Collection, id string, out any) (bool, error) {
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, store.Classify(err)
	}
	return true, nil
}
