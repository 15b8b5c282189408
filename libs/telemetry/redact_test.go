package telemetry_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/itss/techcommit/libs/telemetry"
)

const (
	address = "ada.lovelace@exampleton.ac.uk"
	name    = "Ada Lovelace"
)

// A log record keeps no email address, wherever it appears (message, string, error,
// a struct the handler would marshal, an attribute added beforehand, a group), and no
// value of a key that says it holds a person; the rest of the record is left alone.
func TestLogsCarryNoNamesOrEmails(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := telemetry.NewLogger(&buf, "test", "debug").With("recipient", address)
	type person struct{ Name, Email string }
	log.Info("sent to "+address,
		"error", errors.New(`recipient "`+address+`": 550 no such user`),
		"reviewer_name", name, "lead_email", address, "round_name", "Spring 2027", "stream", "TC_REVIEW",
		"who", person{Name: "someone", Email: address},
		slog.Group("to", "name", name), slog.Group("job", "contact", name, "count", 3))
	out := buf.String()
	for _, leak := range []string{address, name} {
		if strings.Contains(out, leak) {
			t.Errorf("the log keeps %q: %s", leak, out)
		}
	}
	for _, kept := range []string{`"round_name":"Spring 2027"`, `"stream":"TC_REVIEW"`, `550 no such user`, `"count":3`} {
		if !strings.Contains(out, kept) {
			t.Errorf("the log lost %s: %s", kept, out)
		}
	}
}

// An exported span keeps no email address in its name, status, attributes or events,
// and no value of a personal key.
func TestSpansCarryNoNamesOrEmails(t *testing.T) {
	t.Parallel()
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(telemetry.RedactSpans(mem)))
	_, span := tp.Tracer("t").Start(context.Background(), "send "+address)
	span.SetAttributes(attribute.String("reviewer_email", "x"), attribute.String("lead.name", name),
		attribute.String("db.collection.name", "deliveries"), attribute.StringSlice("to", []string{address}))
	span.RecordError(errors.New("E11000 duplicate key: { email: \"" + address + "\" }"))
	span.SetStatus(codes.Error, "refused "+address)
	span.End()
	got := mem.GetSpans()
	if len(got) != 1 {
		t.Fatalf("%d spans", len(got))
	}
	s := got[0]
	text := s.Name + s.Status.Description
	for _, kv := range s.Attributes {
		text += " " + string(kv.Key) + "=" + kv.Value.Emit()
	}
	for _, e := range s.Events {
		for _, kv := range e.Attributes {
			text += " " + string(kv.Key) + "=" + kv.Value.Emit()
		}
	}
	for _, leak := range []string{address, name} {
		if strings.Contains(text, leak) {
			t.Errorf("the span keeps %q: %s", leak, text)
		}
	}
	if !strings.Contains(text, "db.collection.name=deliveries") || !strings.Contains(text, "E11000") {
		t.Errorf("the span lost what is not personal: %s", text)
	}
}

func TestPersonalKey(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"email": true, "reviewer_email": true, "LeadEmail": true, "name": true, "lead_name": true, "reviewer.name": true,
		"to": true, "recipient": true, "applicant": true,
		"organisation_name": false, "round_name": false, "service.name": false, "reviewer_id": false, "person": false,
		"messaging.destination.name": false, "subject": false, "error": false, "durable": false,
	} {
		if got := telemetry.PersonalKey(key); got != want {
			t.Errorf("PersonalKey(%q) = %v, want %v", key, got, want)
		}
	}
}
