package adapters

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// PersonalRecords answers subject access from notify's collections: the
// organisations' leads and heads, the reviewers of assignments, and the recipients of
// the delivery log. It reads each collection through once, comparing addresses
// lower-cased: a subject access request is rare, and the collections are the
// Commitment's size.
type PersonalRecords struct {
	orgs, assignments, reviewers, deliveries, bodies *mongo.Collection
}

var _ app.PersonalRecords = (*PersonalRecords)(nil)

// NewPersonalRecords reads db's collections.
func NewPersonalRecords(db *mongo.Database) *PersonalRecords {
	return &PersonalRecords{orgs: db.Collection("organisations"), assignments: db.Collection("assignments"),
		reviewers: db.Collection(reviewersCollection), deliveries: db.Collection("deliveries"),
		bodies: db.Collection("delivery_bodies")}
}

// HeldAbout gathers what the collections hold about the address.
func (p *PersonalRecords) HeldAbout(ctx context.Context, email string) (app.Held, error) {
	target := strings.ToLower(strings.TrimSpace(email))
	is := func(d personDoc) bool { return d.Email != "" && strings.ToLower(d.Email) == target }
	held := app.Held{Roles: []app.HeldRole{}, Assignments: []app.Assignment{}, Deliveries: []app.Delivery{}, Mentioned: []app.Delivery{}}

	orgs, err := readAll[orgDoc](ctx, p.orgs, nil)
	if err != nil {
		return held, err
	}
	for _, o := range orgs {
		if is(o.Lead) {
			held.Roles = append(held.Roles, app.HeldRole{OrganisationID: o.ID, Role: app.RoleLead, Person: mail.Person(o.Lead)})
		}
		if is(o.Leader) {
			held.Roles = append(held.Roles, app.HeldRole{OrganisationID: o.ID, Role: app.RoleHead, Person: mail.Person(o.Leader)})
		}
	}
	as, err := readAll[assignmentDoc](ctx, p.assignments, nil)
	if err != nil {
		return held, err
	}
	// The reviewer of a record made since they are kept apart is kept under their id.
	rs, err := readAll[reviewerDoc](ctx, p.reviewers, nil)
	if err != nil {
		return held, err
	}
	reviewers := make(map[string]personDoc, len(rs))
	for _, r := range rs {
		reviewers[r.ID] = r.Reviewer
	}
	// An assignment is kept as a record per reminder it owes (the assignment as made,
	// each return): the person was assigned once.
	seen := map[[3]string]bool{}
	for _, a := range as {
		key := [3]string{a.RoundID, a.SubmissionID, a.ReviewerID}
		reviewer := reviewers[a.ReviewerID]
		if a.Reviewer != nil && a.Reviewer.Email != "" {
			reviewer = *a.Reviewer
		}
		if is(reviewer) && !seen[key] {
			seen[key] = true
			held.Assignments = append(held.Assignments, app.Assignment{RoundID: a.RoundID, SubmissionID: a.SubmissionID, ReviewerID: a.ReviewerID,
				OrganisationID: a.OrganisationID, Reviewer: mail.Person(reviewer), Deadline: a.Deadline})
		}
	}
	ds, err := readAll[deliveryDoc](ctx, p.deliveries, listFields)
	if err != nil {
		return held, err
	}
	mentioned := personal.Subject(target)
	for _, d := range ds {
		if slices.Contains(d.Mentions, mentioned) {
			// An email to someone else that names them: what it was, and when; not
			// whom it went to, nor what it said of that person.
			held.Mentioned = append(held.Mentioned, app.Delivery{Key: d.ID, OrganisationID: d.OrganisationID, Kind: d.Kind,
				CreatedAt: d.CreatedAt, Message: mail.Message{Subject: d.Message.Subject}})
		}
		to := d.Message.To
		for _, e := range d.Earlier {
			to = append(to, e.To...)
		}
		if slices.ContainsFunc(to, is) {
			// The other recipients (the head beside the lead) are theirs, not this
			// person's, to be given.
			out := fromDeliveryDoc(d)
			out.Message.To = othersRedacted(out.Message.To, is)
			for i := range out.Earlier {
				out.Earlier[i].To = othersRedacted(out.Earlier[i].To, is)
			}
			// The email's text is theirs too, while it is kept: given only when it was
			// written to them alone (a resend to the role's next holder greets that
			// person, and an email to several may name the others).
			if slices.ContainsFunc(d.Message.To, is) && !slices.ContainsFunc(to, func(p personDoc) bool { return !is(p) }) {
				if out.Message.Text, err = p.text(ctx, d.ID); err != nil {
					return held, err
				}
			}
			held.Deliveries = append(held.Deliveries, out)
		}
	}
	return held, nil
}

// text is the plain text of a delivery's email as notify keeps it (the sign-in
// email's link redacted), or "" once its body is dropped for its age: from
// delivery_bodies, or from the entry of an email logged with its body.
func (p *PersonalRecords) text(ctx context.Context, id string) (string, error) {
	var b bodyDoc
	err := p.bodies.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&b)
	if err == nil {
		return b.Text, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return "", fmt.Errorf("read the body of delivery %s: %w", id, store.Classify(err))
	}
	var d deliveryDoc
	err = p.deliveries.FindOne(ctx, bson.D{{Key: "_id", Value: id}}, options.FindOne().SetProjection(bson.D{{Key: "message.text", Value: 1}})).Decode(&d)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return "", fmt.Errorf("read delivery %s: %w", id, store.Classify(err))
	}
	return d.Message.Text, nil
}

// readAll reads every document of a collection, projected when project is set.
func readAll[T any](ctx context.Context, c *mongo.Collection, project bson.D) ([]T, error) {
	opts := options.Find()
	if project != nil {
		opts.SetProjection(project)
	}
	cur, err := c.Find(ctx, bson.D{}, opts)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Name(), store.Classify(err))
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Name(), store.Classify(err))
	}
	return out, nil
}

// othersRedacted is to with everyone but the person (is) shown as another person.
func othersRedacted(to []mail.Person, is func(personDoc) bool) []mail.Person {
	out := make([]mail.Person, len(to))
	for i, p := range to {
		if is(personDoc(p)) {
			out[i] = p
		} else {
			out[i] = mail.Person{Name: personal.AnotherPerson}
		}
	}
	return out
}
