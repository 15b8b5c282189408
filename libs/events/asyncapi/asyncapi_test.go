package asyncapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/events/asyncapi"
)

// TestDocumentIsCurrent fails when docs/asyncapi.json is not what the event types
// generate: run `make generate` and commit the result.
func TestDocumentIsCurrent(t *testing.T) {
	t.Parallel()
	got, err := asyncapi.Document("..")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../../docs/asyncapi.json")
	if err != nil {
		t.Fatalf("read the checked-in document (run make generate): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/asyncapi.json is not current: run make generate and commit it")
	}
}

// TestDocumentCoversEveryContract checks the document names every event type, gives
// each a payload schema with its fields, and describes each from its doc comment.
func TestDocumentCoversEveryContract(t *testing.T) {
	t.Parallel()
	raw, err := asyncapi.Document("..")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AsyncAPI   string `json:"asyncapi"`
		Channels   map[string]struct{ Address string }
		Components struct {
			Messages map[string]struct {
				Name        string `json:"name"`
				Description string `json:"description"`
				Payload     struct {
					Ref string `json:"$ref"`
				} `json:"payload"`
			} `json:"messages"`
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.AsyncAPI != "3.0.0" {
		t.Errorf("asyncapi = %q", doc.AsyncAPI)
	}
	addresses := map[string]bool{}
	for _, ch := range doc.Channels {
		addresses[ch.Address] = true
	}
	names := map[string]bool{}
	for _, m := range doc.Components.Messages {
		names[m.Name] = true
		if m.Description == "" {
			t.Errorf("%s has no description (give its type a doc comment)", m.Name)
		}
		schema := doc.Components.Schemas[m.Payload.Ref[len("#/components/schemas/"):]]
		if len(schema.Properties) == 0 {
			t.Errorf("%s has no payload properties", m.Name)
		}
	}
	for _, c := range events.Contracts() {
		if !names[c.Type] {
			t.Errorf("no message for %s", c.Type)
		}
		if !addresses[events.SubjectOf(c.Type)] {
			t.Errorf("no channel for %s", events.SubjectOf(c.Type))
		}
	}
}
