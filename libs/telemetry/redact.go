package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Logs and traces leave the services for places (a log store, a trace backend, a
// support ticket) that keep them on terms of their own, and no one could answer a
// request to erase a person from them. So neither carries a name or an email
// (docs/PRIVACY.md): every log record and every exported span is redacted here,
// whatever code wrote it.
//
// Two rules do it. An email address is recognised by its shape wherever it appears
// (a message, an error, any attribute) and replaced by RedactedEmail. A name cannot be
// recognised by its shape, so a value is replaced by Redacted when its key says it
// holds a person (email, name, recipient, lead, reviewer_name, ...): code that logs a
// person under such a key is redacted, and code must never put a name into a message
// or an error (the services identify people by ids and pseudonyms).

// Redacted replaces a value whose key says it is personal.
const Redacted = "[redacted]"

// RedactedEmail replaces an email address found in text.
const RedactedEmail = "[email]"

// emailPattern matches what a mail relay would take for an address: a local part, an
// @ and a dotted domain. It is deliberately broad (it also catches user@host.local).
var emailPattern = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+`)

// RedactText replaces every email address in s.
func RedactText(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return emailPattern.ReplaceAllString(s, RedactedEmail)
}

// personalKeys are the keys (or, after a dot or an underscore, the last words of keys)
// that name a person or their address. "person" is not one: the portal logs a
// person by their pseudonym under it, which is made for logs.
var personalKeys = map[string]bool{
	"email": true, "emails": true, "name": true, "recipient": true, "recipients": true,
	"to": true, "cc": true, "bcc": true, "from_name": true, "leader": true, "lead": true, "contact": true, "applicant": true,
	"reviewer": true, "endorsement": true, "full_name": true, "display_name": true, "given_name": true, "family_name": true,
}

// notPersonal are names of things, not of people, that end like a personal key.
var notPersonal = map[string]bool{
	"organisation_name": true, "organization_name": true, "round_name": true, "service_name": true, "service.name": true,
	"stream_name": true, "durable_name": true, "consumer_name": true, "metric_name": true, "span_name": true, "event_name": true,
	"messaging.consumer.group.name": true, "messaging.destination.name": true, "db.collection.name": true, "db.operation.name": true,
}

// PersonalKey reports whether a log or span attribute's key says it holds a person:
// the key itself or its last word is one of the personal keys ("email",
// "reviewer_email", "lead.name"), and it is not the name of a thing ("round_name").
func PersonalKey(key string) bool {
	k := strings.ToLower(key)
	if notPersonal[k] {
		return false
	}
	if personalKeys[k] || strings.HasSuffix(k, "email") {
		return true
	}
	if i := strings.LastIndexAny(k, "._"); i >= 0 {
		last := k[i+1:]
		if last == "name" {
			// "lead_name", "reviewer.name": a name is personal when what it names is.
			head := k[:i]
			if j := strings.LastIndexAny(head, "._"); j >= 0 {
				head = head[j+1:]
			}
			return personalKeys[head] || head == "person" || head == "user" || head == "head"
		}
		return personalKeys[last] && last != "name"
	}
	return false
}

// RedactHandler wraps h so that every record it handles is redacted: its message,
// its attributes and those added with WithAttrs.
func RedactHandler(h slog.Handler) slog.Handler {
	if r, ok := h.(redactHandler); ok {
		return r
	}
	return redactHandler{h}
}

type redactHandler struct{ next slog.Handler }

func (h redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, RedactText(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a)
	}
	return redactHandler{h.next.WithAttrs(red)}
}

func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{h.next.WithGroup(name)}
}

// redactAttr redacts one attribute: by its key, then by its value's text.
func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		group := v.Group()
		red := make([]any, len(group))
		for i, g := range group {
			red[i] = redactAttr(g)
		}
		return slog.Group(a.Key, red...)
	}
	if PersonalKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, RedactText(v.String()))
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, RedactText(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, RedactText(x.String()))
		default:
			// A value the JSON handler would marshal: if its text holds an address,
			// log the redacted text instead.
			if b, err := json.Marshal(x); err == nil && emailPattern.Match(b) {
				return slog.String(a.Key, RedactText(string(b)))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// RedactSpans wraps an exporter so that every span it exports is redacted: its name,
// status, attributes and those of its events and links. Instrumentation that records
// an error (a database's duplicate key, a relay's refusal) records its text, which
// may quote an address.
func RedactSpans(next sdktrace.SpanExporter) sdktrace.SpanExporter { return spanRedactor{next} }

type spanRedactor struct{ next sdktrace.SpanExporter }

func (r spanRedactor) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		stub := tracetest.SpanStubFromReadOnlySpan(s)
		stub.Name = RedactText(stub.Name)
		stub.Status.Description = RedactText(stub.Status.Description)
		stub.Attributes = redactKVs(stub.Attributes)
		for j := range stub.Events {
			stub.Events[j].Name = RedactText(stub.Events[j].Name)
			stub.Events[j].Attributes = redactKVs(stub.Events[j].Attributes)
		}
		for j := range stub.Links {
			stub.Links[j].Attributes = redactKVs(stub.Links[j].Attributes)
		}
		out[i] = stub.Snapshot()
	}
	return r.next.ExportSpans(ctx, out)
}

func (r spanRedactor) Shutdown(ctx context.Context) error { return r.next.Shutdown(ctx) }

func redactKVs(kvs []attribute.KeyValue) []attribute.KeyValue {
	if len(kvs) == 0 {
		return kvs
	}
	out := make([]attribute.KeyValue, len(kvs))
	for i, kv := range kvs {
		switch {
		case PersonalKey(string(kv.Key)):
			out[i] = attribute.String(string(kv.Key), Redacted)
		case kv.Value.Type() == attribute.STRING:
			out[i] = attribute.String(string(kv.Key), RedactText(kv.Value.AsString()))
		case kv.Value.Type() == attribute.STRINGSLICE:
			ss := kv.Value.AsStringSlice()
			red := make([]string, len(ss))
			for j, s := range ss {
				red[j] = RedactText(s)
			}
			out[i] = attribute.StringSlice(string(kv.Key), red)
		default:
			out[i] = kv
		}
	}
	return out
}
