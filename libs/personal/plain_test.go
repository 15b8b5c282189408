package personal_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/personal"
)

// A stored document, read as Gather reads it (relaxed extended JSON), reads as plain
// JSON once Plain has it: times, large numbers, ids and bytes as the values they are,
// with no "$date" or "$binary" wrapper left for the person to puzzle over.
func TestPlainLeavesNoExtendedJSONWrapper(t *testing.T) {
	t.Parallel()
	at := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
	oid := bson.NewObjectID()
	doc := bson.D{
		{Key: "_id", Value: "r-1"},
		{Key: "time", Value: at},
		{Key: "long_ago", Value: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Key: "count", Value: int64(1) << 60},
		{Key: "small", Value: int32(7)},
		{Key: "ratio", Value: 0.5},
		{Key: "oid", Value: oid},
		{Key: "answer", Value: bson.Binary{Data: []byte(`{"ok":true}`)}},
		{Key: "bytes", Value: bson.Binary{Data: []byte{0xff, 0x00}}},
		{Key: "nested", Value: bson.A{bson.D{{Key: "at", Value: at}}, "text"}},
	}
	raw, err := bson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	ej, err := bson.MarshalExtJSON(bson.Raw(raw), false, false)
	if err != nil {
		t.Fatal(err)
	}
	var read map[string]any
	if err := json.Unmarshal(ej, &read); err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(personal.Plain(read))
	if err != nil {
		t.Fatal(err)
	}
	var plain map[string]any
	if err := json.Unmarshal(got, &plain); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"_id":      "r-1",
		"time":     "2027-03-01T10:00:00Z",
		"long_ago": "0001-01-01T00:00:00Z",
		"count":    float64(int64(1) << 60),
		"small":    float64(7),
		"ratio":    0.5,
		"oid":      oid.Hex(),
		"answer":   `{"ok":true}`,
		"bytes":    "/wA=",
		"nested":   []any{map[string]any{"at": "2027-03-01T10:00:00Z"}, "text"},
	}
	if diff := cmp.Diff(want, plain); diff != "" {
		t.Errorf("Plain (-want +got):\n%s\nfrom %s", diff, ej)
	}
}
