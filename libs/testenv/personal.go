package testenv

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/personal"
)

// SealedStore opens the people's keys on db and a store over inner that seals the
// people fields name, as a service (platform.SealPeople) does when it starts: for tests
// that start a replica, or several, on one database.
func SealedStore(tb testing.TB, db *mongo.Database, inner personal.EventStore, fields personal.Fields, clk clock.Clock) (*personal.Keys, *personal.SealedStore) {
	tb.Helper()
	keys, err := personal.NewKeys(context.Background(), db, personal.KeysCollection, clk)
	if err != nil {
		tb.Fatal(err)
	}
	sealer, err := personal.NewSealer(keys, fields)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := personal.NewSealedStore(inner, sealer)
	if err != nil {
		tb.Fatal(err)
	}
	return keys, s
}
