package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/events"
)

// ErasureRegister is the suite's register of erasures (docs/PRIVACY.md, "After a
// restore"): a JetStream stream, outside every database a backup holds, so that
// restoring the databases cannot undo an erasure made since the backup. Each entry
// names the person only by the digest of their address (personal.Subject), as the
// key stores and notify's record of erasures do, and says how far the signatory
// service's announcements of that person's erasure had gone (the version of its
// "person" aggregate): a restored event log that falls short of it has lost an
// erasure, which the signatory service then makes again at start.
type ErasureRegister struct {
	js jetstream.JetStream
}

// RegisteredErasure is one entry of the register.
type RegisteredErasure struct {
	// Subject is the digest of the erased person's address (personal.Subject).
	Subject string `json:"subject"`
	// Version is the version of the signatory service's announcement of the erasure.
	Version int `json:"version"`
	// At is when the erasure was made.
	At time.Time `json:"at"`
}

// ErasureRegisterStream is the register's stream: file storage, replicated as the
// services' streams are, kept for good (an entry is a digest and a number).
func ErasureRegisterStream(replicas int) StreamSpec {
	return StreamSpec{Name: events.StreamErasures, Subjects: []string{events.SubjectsErasures}, Replicas: replicas}
}

// OpenErasureRegister makes sure the register's stream exists and returns it.
func OpenErasureRegister(ctx context.Context, js jetstream.JetStream, replicas int) (*ErasureRegister, error) {
	if _, err := EnsureStream(ctx, js, ErasureRegisterStream(replicas)); err != nil {
		return nil, err
	}
	return &ErasureRegister{js: js}, nil
}

// NewErasureRegister is the register on a stream made already (ErasureRegisterStream).
func NewErasureRegister(js jetstream.JetStream) *ErasureRegister { return &ErasureRegister{js: js} }

// Made is when the register's stream was made: a register that is not the one the
// entries were recorded in (NATS lost its volumes) was made later, and is empty.
func (r *ErasureRegister) Made(ctx context.Context) (time.Time, error) {
	s, err := r.js.Stream(ctx, events.StreamErasures)
	if err != nil {
		return time.Time{}, fmt.Errorf("erasure register: %w", err)
	}
	return s.CachedInfo().Created.UTC(), nil
}

// Record adds an entry, and returns once JetStream has stored it. The same entry
// recorded twice is stored once.
func (r *ErasureRegister) Record(ctx context.Context, e RegisteredErasure) error {
	if !IsDigest(e.Subject) || e.Version < 1 {
		return fmt.Errorf("erasure register: an entry needs an address digest and a version, got %q and %d", e.Subject, e.Version)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	msg := nats.NewMsg("tc.erasures." + e.Subject)
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, "erasure-"+e.Subject+"-"+strconv.Itoa(e.Version))
	if _, err := r.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("erasure register: record: %w", err)
	}
	return nil
}

// Latest returns the last entry of each person the register holds, read with an
// ordered consumer (nothing is acknowledged, and the stream keeps every entry).
func (r *ErasureRegister) Latest(ctx context.Context) ([]RegisteredErasure, error) {
	// The consumer starts at each person's last entry; whatever it gives besides (an
	// entry recorded meanwhile, or an earlier one after it was made again), the
	// highest version of each person is the one kept.
	last := map[string]RegisteredErasure{}
	err := ReadStream(ctx, r.js, events.StreamErasures, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.SubjectsErasures},
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy}, func(m jetstream.Msg) error {
		var e RegisteredErasure
		if err := json.Unmarshal(m.Data(), &e); err != nil || !IsDigest(e.Subject) || "tc.erasures."+e.Subject != m.Subject() {
			return fmt.Errorf("entry on %s is not one: %s", m.Subject(), m.Data())
		}
		if held, ok := last[e.Subject]; !ok || e.Version > held.Version {
			last[e.Subject] = e
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("erasure register: %w", err)
	}
	return slices.Collect(maps.Values(last)), nil
}

// IsDigest says s is a SHA-256 digest in lower-case hex, as personal.Subject and the
// portal's secrets' digests are, and so one token of a NATS subject: what the
// registers (of erasures, of ended sign-ins) name their entries by.
func IsDigest(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}
