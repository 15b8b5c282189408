package personal_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/personal"
)

// SealData seals exactly the values the field list names, wherever and however they
// are written (pretty-printed, escaped, repeated in the list, beside fields that are
// not objects or not strings), leaves every other value as it was, and opens back
// to the payload given. The values it should seal are worked out here the plain way,
// by decoding the payload into maps.
func TestSealDataSealsExactlyTheNamedValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys, _ := newKeys(t)
	fields := personal.Fields{
		"nested.v1": {"applicant", "content.endorsement"},
		"twice.v1":  {"applicant", "applicant"},
		"pair.v1":   {"reviewer_name|reviewer_email"},
		"pairs.v1":  {"a_name|a_email", "b_name|b_email", "title|a_email"},
	}
	sealer, err := personal.NewSealer(keys, fields)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ typ, data string }{
		{"nested.v1", `{"applicant":{"email":"a.li@example.ac.uk","name":"Ann Li"},"content":{"endorsement":{"email":"e@example.ac.uk","name":"Eve","title":"Lead"},"pence":90000}}`},
		{"nested.v1", "{\n  \"applicant\" : { \"name\" : \"Zo\\u00eb \\\"Q\\\" <O'Brien> & co\", \"email\" : \"Z@Example.ac.uk\" },\n  \"content\" : null\n}"},
		{"nested.v1", `{"applicant":{"name":"","email":"","title":""},"content":{"endorsement":"not an object"}}`},
		{"nested.v1", `{"applicant":{"name":"No Address","email":42},"content":{"endorsement":{"title":"Only a title","email":"t@example.ac.uk"}}}`},
		{"nested.v1", `{"other":[{"name":"not named by the list","email":"x@example.ac.uk"}]}`},
		{"twice.v1", `{"applicant":{"name":"Once","email":"once@example.ac.uk"}}`},
		{"pair.v1", `{"reviewer_name":"Rita Okafor","round":"Spring","reviewer_email":"r@example.ac.uk","n":1.50}`},
		{"pair.v1", `{"reviewer_name":"Rita Okafor","reviewer_email":null}`},
		{"nested.v1", ` {"x":"a \"}{[ b\\","list":[{"applicant":{"name":"in a list"}},[1,{"y":"]"}]],"applicant":{"n\u0061me":"Escaped Name","email":"e2@example.ac.uk","title":null},"content":{"endorsement":{"name":"E2","email":"e3@example.ac.uk"},"endorsement2":{}}} `},
		{"pairs.v1", `{"a_name":"Ann","a_email":"ann@example.ac.uk","b_name":"Bo","b_email":"bo@example.ac.uk","title":"Lead"}`},
		{"unlisted.v1", `{"name":"Not sealed","email":"n@example.ac.uk"}`},
	}
	for _, c := range cases {
		sealed, err := sealer.SealData(ctx, c.typ, []byte(c.data))
		if err != nil {
			t.Fatalf("%s %s: %v", c.typ, c.data, err)
		}
		if got, want := sealedPaths(t, sealed), wantSealed(t, fields[c.typ], c.data); !cmp.Equal(got, want) {
			t.Errorf("%s %s: sealed %v, want %v: %s", c.typ, c.data, got, want, sealed)
		}
		opened, err := sealer.OpenData(ctx, sealed)
		if err != nil {
			t.Fatal(err)
		}
		var want, got any
		if err := json.Unmarshal([]byte(c.data), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(opened, &got); err != nil {
			t.Fatalf("%s: opened %s: %v", c.data, opened, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s opened differs (-want +got):\n%s", c.data, diff)
		}
		if again, err := sealer.SealData(ctx, c.typ, sealed); err != nil || string(again) != string(sealed) {
			t.Errorf("sealing %s twice changed it: %s, %v", c.data, again, err)
		}
	}
	if _, err := sealer.SealData(ctx, "pair.v1", []byte(`["reviewer_name"]`)); err == nil {
		t.Error("a payload that is not an object was sealed")
	}
	if _, err := sealer.SealData(ctx, "pair.v1", []byte(`{"reviewer_name":"R"`)); err == nil {
		t.Error("a truncated payload was sealed")
	}
}

// wantSealed lists the paths of the values that fields name in data, sealing them
// one by one as the rule says: a person whose address is sealed already is skipped,
// and so is an empty value.
func wantSealed(t *testing.T, fields []string, data string) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatal(err)
	}
	sealed := map[string]bool{}
	for _, f := range fields {
		obj, base, names, emailField := m, "", []string{"name", "title", "email"}, "email"
		if n, e, pair := strings.Cut(f, "|"); pair {
			names, emailField = []string{n, e}, e
		} else {
			for _, part := range strings.Split(f, ".") {
				next, ok := obj[part].(map[string]any)
				if !ok {
					obj = nil
					break
				}
				obj, base = next, base+part+"."
			}
		}
		if obj == nil || sealed[base+emailField] {
			continue
		}
		for _, n := range names {
			if v, ok := obj[n].(string); ok && v != "" {
				sealed[base+n] = true
			}
		}
	}
	out := []string{}
	for p := range sealed {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// sealedPaths lists the paths of the sealed values in data.
func sealedPaths(t *testing.T, data []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("sealed %s: %v", data, err)
	}
	out := []string{}
	var walk func(string, any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(path+k+".", e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[].", e)
			}
		case string:
			if personal.IsSealed(x) {
				out = append(out, strings.TrimSuffix(path, "."))
			}
		}
	}
	walk("", v)
	sort.Strings(out)
	return out
}

// BenchmarkSealData seals a draft application's two people, as every draft does.
func BenchmarkSealData(b *testing.B) {
	ctx := context.Background()
	keys, _ := newKeys(b)
	sealer, err := personal.NewSealer(keys, personal.Fields{"drafted.v1": {"applicant", "content.endorsement"}})
	if err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"application_id":"0193a1c2-7f3e-7c1a-9d2b-5e4f3a2b1c0d","round_id":"0193a1c2-7f3e-7c1a-9d2b-5e4f3a2b1c0e","organisation_id":"org-1",` +
		`"applicant":{"name":"Ann Li","email":"a.li@example.ac.uk"},"content":{"title":"Bench","summary":"Load.","themes":["visibility"],` +
		`"requested_amount_pence":500,"partners":[{"name":"P"}],"endorsement":{"name":"N","email":"n@bench.example.ac.uk"},` +
		`"budget_lines":[{"description":"x","amount_pence":500}],"milestones":[{"description":"m","due":"2027-06-01"}]},"request_hash":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sealer.SealData(ctx, "drafted.v1", data); err != nil {
			b.Fatal(err)
		}
	}
}
