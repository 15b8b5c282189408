package service

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// erasedIn are the portal's records of a person: who may sign in, their sessions
// and the links sent to them. Each is nothing without the person, so an erasure
// deletes it: the person can no longer sign in, and nothing of them stays.
var erasedIn = []string{"leads", "reviewers", "applicants", "sessions", "signin_links"}

// forgetErased consumes the signatory service's erasures (docs/PRIVACY.md): the
// portal forgets the person in every record that holds their address.
func forgetErased(db *mongo.Database) func(*signin.People) (bus.ConsumerSpec, bus.Handler) {
	return func(*signin.People) (bus.ConsumerSpec, bus.Handler) {
		return platform.PersonErasures(Name, func(ctx context.Context, sub string) error {
			for _, name := range erasedIn {
				if _, err := personal.Forget(ctx, db.Collection(name), sub, true); err != nil {
					return err
				}
			}
			return nil
		})
	}
}
