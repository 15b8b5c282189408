package personal

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// AnotherPerson stands, in the answer to one person's subject access request, for
// someone else the same record names: a co-reviewer assigned in the same commit, the
// head of institution beside the lead, another recipient of one email. Their data is
// theirs (UK GDPR Art. 15(4)), and naming a co-reviewer would also undo the peer
// review's anonymity among reviewers.
const AnotherPerson = "[another person]"

// RedactOthers replaces, in v (a document as plain maps and slices, or JSON text in
// it), every address that is not one of the person's (given as addresses), and the
// name and title beside another's address ("name", "title" in its object; "x_name",
// "x_title" and the id "x_id" beside "x_email"), with AnotherPerson. Stored answers kept as bytes
// (BSON binary, shown as {"$binary": ...}) that are text are shown as their text,
// redacted alike.
func RedactOthers(v any, addresses ...string) any {
	own := make([]string, 0, len(addresses))
	for _, a := range addresses {
		if a = Normalise(a); a != "" {
			own = append(own, a)
		}
	}
	return redact(v, own)
}

// RedactOthersJSON is RedactOthers over a JSON document (an event's payload).
func RedactOthersJSON(data []byte, addresses ...string) []byte {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return data
	}
	out, err := json.Marshal(RedactOthers(v, addresses...))
	if err != nil {
		return data
	}
	return out
}

func redact(v any, own []string) any {
	switch x := v.(type) {
	case string:
		return redactText(x, own)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redact(e, own)
		}
		return out
	case map[string]any:
		if text, ok := binaryText(x); ok {
			return redactText(text, own)
		}
		out := make(map[string]any, len(x))
		var others []string // the stems of fields holding another's address alone
		for k, e := range x {
			if s, ok := e.(string); ok && isOthersAddress(s, own) {
				others = append(others, strings.TrimSuffix(k, "email"))
			}
			out[k] = redact(e, own)
		}
		for _, stem := range others {
			fields := []string{"name", "title"}
			if stem != "" {
				// "reviewer_id" beside "reviewer_email": the id names the person
				// too (ids are often chosen from names, "rev-alice"). An object's
				// own "id" beside a bare "email" is the object's, and is kept.
				fields = append(fields, "id")
			}
			for _, f := range fields {
				if _, ok := out[stem+f].(string); ok {
					out[stem+f] = AnotherPerson
				}
			}
		}
		return out
	}
	return v
}

// redactText replaces another's addresses in s; JSON text (an event's payload stored
// as text) is redacted as the document it holds, so that names beside them go too.
func redactText(s string, own []string) string {
	if t := strings.TrimSpace(s); (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
		return string(RedactOthersJSON([]byte(t), own...))
	}
	return addressShape.ReplaceAllStringFunc(s, func(a string) string {
		if slices.Contains(own, Normalise(a)) {
			return a
		}
		return AnotherPerson
	})
}

// isOthersAddress reports whether s is, alone, an address not among own.
func isOthersAddress(s string, own []string) bool {
	s = strings.TrimSpace(s)
	return addressShape.FindString(s) == s && s != "" && !slices.Contains(own, Normalise(s))
}

// binaryText is the text held in bytes as extended JSON shows them
// ({"$binary": {"base64": ..., "subType": ...}}), when they are text.
func binaryText(m map[string]any) (string, bool) {
	b, ok := m["$binary"].(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	enc, _ := b["base64"].(string)
	data, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || !utf8.Valid(data) {
		return "", false
	}
	return string(data), true
}
