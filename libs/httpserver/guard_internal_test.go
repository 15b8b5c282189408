package httpserver

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDuplicateKeyScan checks the byte scanner against encoding/json's tokenizer:
// on every valid JSON text they find the same duplicate keys at the same places.
func FuzzDuplicateKeyScan(f *testing.F) {
	for _, seed := range []string{
		`{"a":1,"a":2}`, `{"a":{"b":[1,{"c":1,"c":2}]},"a":3}`, `{"a":"}\"{","b":1}`,
		`{"r\u006fle":"x","role":"y"}`, "{\"role\x84\":1,\"role\x85\":2}", `[{"":1,"":2}]`, `{}`, `[]`, `"x"`, `{"a":[],"b":{},"a":null}`,
		`{"k1":1,"k2":1,"k3":1,"k4":1,"k5":1,"k6":1,"k7":1,"k8":1,"k9":1,"k10":1,"k11":1,"k12":1,"k13":1,"k14":1,"k15":1,"k16":1,"k17":1,"k1":2}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) || strings.Count(s, "[")+strings.Count(s, "{") > maxScanDepth {
			return
		}
		sc := dupScanner{data: []byte(s)}
		if !sc.value() {
			t.Fatalf("valid JSON %q not scanned to the end", s)
		}
		var got []string
		for _, p := range sc.out {
			got = append(got, p.Field)
		}
		if diff := cmp.Diff(referenceDuplicates(t, s), got); diff != "" {
			t.Errorf("%q: duplicates (-decoder +scanner):\n%s", s, diff)
		}
	})
}

func referenceDuplicates(t *testing.T, s string) []string {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	var out []string
	var walk func(path []string)
	walk = func(path []string) {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, _ := dec.Token()
				k := kt.(string)
				p := append(path[:len(path):len(path)], k)
				if seen[k] {
					out = append(out, fieldOf(p))
				}
				seen[k] = true
				walk(p)
			}
			dec.Token()
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				walk(append(path[:len(path):len(path)], strconv.Itoa(i)))
			}
			dec.Token()
		}
	}
	walk(nil)
	return out
}

func fieldOf(path []string) string {
	var parts []string
	for _, p := range path {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "body"
	}
	return strings.Join(parts, ".")
}
