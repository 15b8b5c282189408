package personal_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// A reviewer named in flat fields and an endorser nested in an application's content
// are sealed under their own keys, read back as written, and read as erased once
// their keys are gone; the rest of the payload (a number included) is untouched.
func TestFlatPairsAndNestedPeopleAreSealed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys, _ := newKeys(t)
	sealer, err := personal.NewSealer(keys, personal.Fields{
		"assigned.v1": {"reviewer_name|reviewer_email"},
		"drafted.v1":  {"applicant", "content.endorsement"},
	})
	if err != nil {
		t.Fatal(err)
	}
	assigned := `{"reviewer_email":"r.okafor@example.ac.uk","reviewer_name":"Rita Okafor","round_name":"Spring"}`
	drafted := `{"applicant":{"email":"a.li@example.ac.uk","name":"Ann Li"},"content":{"endorsement":{"email":"e.jones@example.ac.uk","name":"Eve Jones","title":"Lead"},"requested_amount_pence":90000}}`
	var stored []string
	for typ, data := range map[string]string{"assigned.v1": assigned, "drafted.v1": drafted} {
		sealed, err := sealer.SealData(ctx, typ, []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"Okafor", "okafor@", "Ann Li", "a.li@", "Eve Jones", "e.jones@", `"Lead"`} {
			if strings.Contains(string(sealed), s) {
				t.Errorf("%s stored holds %q: %s", typ, s, sealed)
			}
		}
		if !strings.Contains(string(sealed), "Spring") && !strings.Contains(string(sealed), "90000") {
			t.Errorf("%s lost what is not personal: %s", typ, sealed)
		}
		again, err := sealer.SealData(ctx, typ, sealed)
		if err != nil || string(again) != string(sealed) {
			t.Errorf("sealing %s twice changed it: %s", typ, again)
		}
		opened, err := sealer.OpenData(ctx, sealed)
		if err != nil {
			t.Fatal(err)
		}
		var want, got any
		_ = json.Unmarshal([]byte(data), &want)
		_ = json.Unmarshal(opened, &got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s opened differs (-want +got):\n%s", typ, diff)
		}
		stored = append(stored, string(sealed))
	}
	pid, err := keys.Lookup(ctx, "R.Okafor@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := keys.EraseSubject(ctx, personal.Subject("r.okafor@example.ac.uk ")); err != nil || !found {
		t.Fatalf("erase by subject: found %v, %v", found, err)
	}
	if _, found, _ := keys.EraseSubject(ctx, personal.Subject("r.okafor@example.ac.uk")); found {
		t.Error("a second erasure found the reviewer again")
	}
	for _, s := range stored {
		if !personal.Mentions([]byte(s), pid) {
			continue
		}
		opened, err := sealer.OpenData(ctx, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(opened), "Okafor") || strings.Contains(string(opened), "okafor@") || !strings.Contains(string(opened), "Spring") {
			t.Errorf("erased reviewer reads %s", opened)
		}
	}
}

// Told an erasure by the digest alone, a service finds the documents that hold the
// address: a log entry keeps its other fields with the person blanked, a record that
// is nothing without them is deleted, and no one else is touched.
func TestForgetFindsAddressesByTheirDigest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	log, kept := db.Collection("deliveries"), db.Collection("answers")
	for _, d := range []bson.D{
		{{Key: "_id", Value: "d1"}, {Key: "subject", Value: "Your review"}, {Key: "message", Value: bson.D{{Key: "to", Value: bson.A{bson.D{{Key: "name", Value: "Rita Okafor"}, {Key: "email", Value: "R.Okafor@example.ac.uk"}}}}}}},
		{{Key: "_id", Value: "d2"}, {Key: "subject", Value: "Other"}, {Key: "message", Value: bson.D{{Key: "to", Value: bson.A{bson.D{{Key: "name", Value: "Ann Li"}, {Key: "email", Value: "a.li@example.ac.uk"}}}}}}},
		{{Key: "_id", Value: "d3"}, {Key: "reviewer_name", Value: "Rita Okafor"}, {Key: "reviewer_email", Value: "r.okafor@example.ac.uk"}, {Key: "round", Value: "Spring"}},
	} {
		if _, err := log.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kept.InsertOne(ctx, bson.D{{Key: "_id", Value: "k1"}, {Key: "body", Value: `{"applicant":{"email":"r.okafor@example.ac.uk"}}`}}); err != nil {
		t.Fatal(err)
	}
	sub := personal.Subject("r.okafor@example.ac.uk")
	ids, err := personal.Forget(ctx, log, sub, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"d1", "d3"}, ids); diff != "" {
		t.Errorf("scrubbed (-want +got):\n%s", diff)
	}
	if ids, err := personal.Forget(ctx, kept, sub, true); err != nil || len(ids) != 1 {
		t.Errorf("deleted %v, %v", ids, err)
	}
	var docs []bson.M
	cur, err := log.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	text, _ := json.Marshal(docs)
	for _, s := range []string{"Okafor", "okafor@"} {
		if strings.Contains(strings.ToLower(string(text)), strings.ToLower(s)) {
			t.Errorf("after forgetting, the log holds %q: %s", s, text)
		}
	}
	for _, s := range []string{"Ann Li", "a.li@example.ac.uk", "Your review", "Spring", `"erased":true`} {
		if !strings.Contains(string(text), s) {
			t.Errorf("after forgetting, the log lost %q: %s", s, text)
		}
	}
	if n, _ := kept.CountDocuments(ctx, bson.D{}); n != 0 {
		t.Errorf("%d records holding the address are left", n)
	}
}
