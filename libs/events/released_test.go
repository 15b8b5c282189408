package events

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// releasedDir holds, for each event type of the last release, its payload with every
// field set as that release's code encoded it (testdata/released/gen.go, run in a
// worktree of the released commit, writes them; docs/API.md says when). During a
// rolling update, and for as long as a stream keeps them, this version's consumers
// read what the release's producers wrote, and the release's consumers read what
// this version's producers write.
const releasedDir = "testdata/released"

// TestReleasedEventsDecode holds every event type the last release wrote to the
// contracts: this version still decodes it (consumers accept older versions), knows
// every field of it (a field the release wrote and this version dropped would be lost
// without a word), and writes each of those fields again as the release read them
// (a release's consumer meeting this version's event finds what it reads).
func TestReleasedEventsDecode(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(releasedDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no released events in %s (%v)", releasedDir, err)
	}
	contracts := map[string]Contract{}
	for _, c := range Contracts() {
		contracts[c.Type] = c
	}
	for _, file := range files {
		typ := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			released, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := contracts[typ]
			if !ok {
				t.Fatalf("the release writes %s, which this version no longer decodes: keep its type in Contracts() and its consumers' handlers", typ)
			}
			p, err := c.Decode(Envelope{ID: "released", Type: typ, Data: released})
			if err != nil {
				t.Fatalf("decode the release's %s: %v", typ, err)
			}
			strict := reflect.New(reflect.TypeOf(c.Zero))
			dec := json.NewDecoder(bytes.NewReader(released))
			dec.DisallowUnknownFields()
			if err := dec.Decode(strict.Interface()); err != nil {
				t.Errorf("the release's %s has a field this version does not know, so a consumer of this version loses it: %v", typ, err)
			}
			again, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var was, now map[string]any
			if err := json.Unmarshal(released, &was); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &now); err != nil {
				t.Fatal(err)
			}
			for _, diff := range lostFields("", was, now) {
				t.Errorf("%s written by this version: %s, which the release's consumers read", typ, diff)
			}
		})
	}
}

// lostFields lists each field of was that now lacks or holds differently, by path.
func lostFields(path string, was, now any) []string {
	switch w := was.(type) {
	case map[string]any:
		n, ok := now.(map[string]any)
		if !ok {
			return []string{path + " is no longer an object"}
		}
		var lost []string
		for k, v := range w {
			nv, ok := n[k]
			if !ok {
				lost = append(lost, path+"."+k+" is missing")
				continue
			}
			lost = append(lost, lostFields(path+"."+k, v, nv)...)
		}
		return lost
	case []any:
		n, ok := now.([]any)
		if !ok || len(n) != len(w) {
			return []string{path + " is no longer the same list"}
		}
		var lost []string
		for i := range w {
			lost = append(lost, lostFields(path+"[]", w[i], n[i])...)
		}
		return lost
	default:
		if !reflect.DeepEqual(was, now) {
			b, _ := json.Marshal(now)
			a, _ := json.Marshal(was)
			return []string{path + " is " + string(b) + ", was " + string(a)}
		}
		return nil
	}
}
