package signin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/store"
)

// Staff remembers the ITSS staff who have signed in to the portal: each one's
// subject at ITSS's identity provider and the name its claims gave at their latest
// sign-in. The services record an ops person only by subject (the portal's tokens
// carry no name), so the console looks the names up here to show its histories as
// people. Nobody else is kept: leads and reviewers are in the people read model.
type Staff struct {
	coll  *mongo.Collection
	clock clock.Clock
}

type staffDoc struct {
	Subject string    `bson:"_id"`
	Name    string    `bson:"name"`
	Seen    time.Time `bson:"seen_at"`
}

// maxStaffLookup bounds one lookup; a history page names far fewer people.
const maxStaffLookup = 200

// NewStaff opens the ITSS staff collection of db.
func NewStaff(db *mongo.Database, clk clock.Clock) (*Staff, error) {
	if db == nil || clk == nil {
		return nil, errors.New("signin: a database and a clock are required for the staff record")
	}
	return &Staff{coll: db.Collection("ops_staff"), clock: clk}, nil
}

// Seen records that subject signed in under name, replacing the name it had (people
// change their names; the provider's latest claim is the one to show). A sign-in
// without a subject or a name records nothing.
func (s *Staff) Seen(ctx context.Context, subject, name string) error {
	if subject == "" || name == "" {
		return nil
	}
	doc := staffDoc{Subject: subject, Name: name, Seen: s.clock.Now().UTC()}
	// Two first sign-ins at once may both try to insert; Replace tries the loser again.
	if err := store.Replace(ctx, s.coll, subject, doc); err != nil {
		return fmt.Errorf("record ops staff %s: %w", subject, store.Classify(err))
	}
	return nil
}

// Sweep forgets the staff not seen (signed in) for the period `keep`, and returns how
// many it forgot: someone who left ITSS is shown by their subject from then on; one
// who signs in again is recorded again. The collection holds ITSS's staff, a few
// dozen documents, so the filter's scan on the embedded store costs nothing.
func (s *Staff) Sweep(ctx context.Context, keep time.Duration) (int, error) {
	if keep <= 0 {
		return 0, fmt.Errorf("forget ops staff: a period to keep their names is required, not %s", keep)
	}
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: "seen_at", Value: bson.D{{Key: "$lte", Value: s.clock.Now().UTC().Add(-keep)}}}})
	if err != nil {
		return 0, fmt.Errorf("forget ops staff not seen for %s: %w", keep, store.Classify(err))
	}
	return int(res.DeletedCount), nil
}

// Names returns the recorded name of each of subjects that has one; a subject never
// seen is absent from the map.
func (s *Staff) Names(ctx context.Context, subjects []string) (map[string]string, error) {
	out := map[string]string{}
	if len(subjects) == 0 {
		return out, nil
	}
	if len(subjects) > maxStaffLookup {
		subjects = subjects[:maxStaffLookup]
	}
	cur, err := s.coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: subjects}}}})
	if err != nil {
		return nil, fmt.Errorf("find ops staff: %w", store.Classify(err))
	}
	var docs []staffDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read ops staff: %w", store.Classify(err))
	}
	for _, d := range docs {
		out[d.Subject] = d.Name
	}
	return out, nil
}
