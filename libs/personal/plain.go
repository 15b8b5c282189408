package personal

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Plain is v, a document as Gather reads it (MongoDB's relaxed extended JSON, as
// plain maps and slices), with the wrappers that JSON uses for what it has no type
// of made the plain values a reader expects: {"$date": "2027-03-01T10:00:00Z"} the
// time, {"$numberLong": "12"} the number, {"$oid": "…"} the id, bytes that are not
// text their base64. An answer to a subject access request is read by the person it
// is about, who should not need to know how the service stores it.
func Plain(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Plain(e)
		}
		return out
	case map[string]any:
		if p, ok := unwrapped(x); ok {
			return p
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Plain(e)
		}
		return out
	}
	return v
}

// PlainRecord is r with its document as Plain makes it, without its key, which the
// record gives as its ID: a record as a subject access answer gives it.
func PlainRecord(r Record) Record {
	doc, _ := Plain(r.Document).(map[string]any)
	delete(doc, "_id")
	return Record{Collection: r.Collection, ID: r.ID, Document: doc}
}

// unwrapped is the plain value of an extended JSON wrapper, a one-key object whose
// key names the type.
func unwrapped(m map[string]any) (any, bool) {
	if len(m) != 1 {
		return nil, false
	}
	for k, v := range m {
		switch k {
		case "$date":
			switch d := v.(type) {
			case string:
				return d, true
			case map[string]any: // out of the years relaxed JSON writes as text
				if ms, ok := unwrapped(d); ok {
					if n, ok := ms.(json.Number); ok {
						if i, err := n.Int64(); err == nil {
							return time.UnixMilli(i).UTC().Format(time.RFC3339Nano), true
						}
					}
				}
			}
		case "$numberLong", "$numberInt", "$numberDouble", "$numberDecimal":
			s, ok := v.(string)
			if !ok {
				return nil, false
			}
			if _, err := strconv.ParseFloat(s, 64); err != nil {
				return s, true // NaN, Infinity: no JSON number says them
			}
			return json.Number(s), true
		case "$oid", "$symbol":
			if s, ok := v.(string); ok {
				return s, true
			}
		case "$binary":
			if b, ok := v.(map[string]any); ok {
				if text, ok := binaryText(m); ok {
					return text, true
				}
				return b["base64"], true
			}
		case "$timestamp":
			if t, ok := v.(map[string]any); ok {
				if secs, ok := t["t"].(float64); ok {
					return time.Unix(int64(secs), 0).UTC().Format(time.RFC3339), true
				}
			}
		}
		if strings.HasPrefix(k, "$") {
			return nil, false
		}
	}
	return nil, false
}
