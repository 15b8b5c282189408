// Package asyncapi writes the AsyncAPI 3 document of every event the suite publishes,
// from the payload types in package events and their doc comments, so that other ITSS
// systems can consume the events from a description that cannot drift from the code:
// `make generate` writes docs/asyncapi.json, and a test fails when it is not current.
package asyncapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// Document is the AsyncAPI document, as JSON (which is also YAML), of the contracts
// events.Contracts lists. srcDir is the events package's source directory, read for the
// types' and fields' doc comments.
func Document(srcDir string) ([]byte, error) {
	docs, err := readDocs(srcDir)
	if err != nil {
		return nil, err
	}
	g := &generator{docs: docs, schemas: map[string]any{}}
	channels := map[string]any{}
	operations := map[string]any{}
	messages := map[string]any{}
	type channel struct {
		id       string
		address  string
		messages map[string]any
		refs     []any
	}
	byAddress := map[string]*channel{}
	for _, c := range events.Contracts() {
		t := reflect.TypeOf(c.Zero)
		name := t.Name()
		address := events.SubjectOf(c.Type)
		ch := byAddress[address]
		if ch == nil {
			ch = &channel{id: channelID(address), address: address, messages: map[string]any{}}
			byAddress[address] = ch
		}
		ch.messages[name] = map[string]any{"$ref": "#/components/messages/" + name}
		ch.refs = append(ch.refs, map[string]any{"$ref": "#/channels/" + ch.id + "/messages/" + name})
		doc := docs.types[name]
		messages[name] = map[string]any{
			"name":        c.Type,
			"title":       name,
			"summary":     firstSentence(doc),
			"description": doc,
			"contentType": "application/json",
			"headers":     map[string]any{"$ref": "#/components/schemas/CloudEventHeaders"},
			"payload":     g.ref(t),
		}
	}
	producers := map[string]bool{}
	for _, ch := range byAddress {
		producer, _, _ := strings.Cut(strings.TrimPrefix(ch.address, "tc."), ".")
		producers[producer] = true
		channels[ch.id] = map[string]any{
			"address":     ch.address,
			"description": fmt.Sprintf("Published by the %s service on the stream %s.", producer, events.StreamOf(ch.address)),
			"messages":    ch.messages,
		}
		var what []string
		for name := range ch.messages {
			what = append(what, firstSentence(docs.types[name]))
		}
		sort.Strings(what)
		operations["receive"+upperFirst(ch.id)] = map[string]any{
			"action":      "receive",
			"channel":     map[string]any{"$ref": "#/channels/" + ch.id},
			"messages":    ch.refs,
			"description": fmt.Sprintf("Consume what the %s service publishes on %s: %s", producer, ch.address, strings.Join(what, " ")),
			"tags":        []any{map[string]any{"name": producer}},
		}
	}
	var tags []any
	for _, p := range slices.Sorted(maps.Keys(producers)) {
		tags = append(tags, map[string]any{"name": p, "description": fmt.Sprintf("The events the %s service publishes (each channel names its stream).", p)})
	}
	g.schemas["CloudEventHeaders"] = map[string]any{
		"type":        "object",
		"description": "NATS message headers: the CloudEvents 1.0 attributes of the event, its W3C trace context, and Nats-Msg-Id (the event id, so that JetStream drops a republished copy).",
		"properties": map[string]any{
			"ce-specversion": map[string]any{"type": "string", "const": events.SpecVersion},
			"ce-id":          map[string]any{"type": "string", "description": "Unique event id; equal to Nats-Msg-Id."},
			"ce-source":      map[string]any{"type": "string", "description": "The producing service, e.g. /tc/signatory."},
			"ce-type":        map[string]any{"type": "string", "description": "The event type with its version suffix, e.g. tc.signatory.organisation.announced.v1."},
			"ce-subject":     map[string]any{"type": "string", "description": "The aggregate the event is about."},
			"ce-time":        map[string]any{"type": "string", "format": "date-time"},
			"traceparent":    map[string]any{"type": "string", "description": "W3C trace context."},
			"Nats-Msg-Id":    map[string]any{"type": "string"},
		},
		"required": []string{"ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "Nats-Msg-Id"},
	}
	out := map[string]any{
		"asyncapi": "3.0.0",
		"info": map[string]any{
			"title":   "Technician Commitment suite events",
			"version": "1",
			"contact": map[string]any{"name": "ITSS Technician Commitment team", "url": "https://technician-commitment.itss.org.uk"},
			"tags":    tags,
			"description": "Every event the suite's services publish to NATS JetStream, one stream per producing service. " +
				"An event's type carries its version (….v1); within a version a payload only gains optional fields, " +
				"and a breaking change is a new version that consumers receive beside the old one. Payloads are JSON.",
		},
		"defaultContentType": "application/json",
		"servers": map[string]any{
			"production": map[string]any{"host": "nats.technician-commitment.svc:4222", "protocol": "nats", "description": "The suite's NATS JetStream cluster (TLS; credentials per consumer)."},
		},
		"channels":   channels,
		"operations": operations,
		"components": map[string]any{"messages": messages, "schemas": g.schemas},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("encode AsyncAPI document: %w", err)
	}
	return buf.Bytes(), nil
}

type generator struct {
	docs    *docIndex
	schemas map[string]any
}

var (
	timeType  = reflect.TypeOf(time.Time{})
	civilDate = reflect.TypeOf(civil.Date{})
)

// ref returns the schema of t: a reference to a named struct's component schema
// (written once), or the schema itself.
func (g *generator) ref(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == civilDate:
		return map[string]any{"type": "string", "format": "date", "description": "A calendar date (YYYY-MM-DD), Europe/London."}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.ref(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.ref(t.Elem())}
	case reflect.Struct:
		if _, done := g.schemas[t.Name()]; !done {
			g.schemas[t.Name()] = map[string]any{} // placeholder against recursion
			g.schemas[t.Name()] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + t.Name()}
	}
	return map[string]any{}
}

func (g *generator) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.ref(f.Type)
		if d := g.docs.fields[t.Name()+"."+f.Name]; d != "" {
			if _, isRef := s["$ref"]; isRef {
				s = map[string]any{"allOf": []any{s}, "description": d}
			} else {
				s["description"] = d
			}
		}
		props[name] = s
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
			required = append(required, name)
		}
	}
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		out["required"] = required
	}
	if d := g.docs.types[t.Name()]; d != "" {
		out["description"] = d
	}
	return out
}

// docIndex holds the doc comments of the events package's types and struct fields.
type docIndex struct {
	types  map[string]string // type name -> doc
	fields map[string]string // "Type.Field" -> doc or line comment
}

func readDocs(dir string) (*docIndex, error) {
	idx := &docIndex{types: map[string]string{}, fields: map[string]string{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("list event sources: %w", err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				idx.types[ts.Name.Name] = clean(doc.Text())
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, field := range st.Fields.List {
					text := clean(field.Doc.Text())
					if text == "" {
						text = clean(field.Comment.Text())
					}
					for _, n := range field.Names {
						if text != "" {
							idx.fields[ts.Name.Name+"."+n.Name] = text
						}
					}
				}
			}
		}
	}
	return idx, nil
}

func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}

// channelID makes an AsyncAPI channel id from a subject:
// tc.signatory.organisation.announced -> signatoryOrganisationAnnounced.
func channelID(address string) string {
	parts := strings.FieldsFunc(strings.TrimPrefix(address, "tc."), func(r rune) bool { return r == '.' || r == '_' })
	for i := 1; i < len(parts); i++ {
		parts[i] = upperFirst(parts[i])
	}
	return strings.Join(parts, "")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
