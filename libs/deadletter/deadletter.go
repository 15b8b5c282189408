// Package deadletter lets ITSS operations staff see the messages a service's consumers
// gave up on and hand them back once the cause is fixed. Dead letters live in the
// TC_DEADLETTER stream (see package bus); a replay runs the message through the same
// consumer again — idempotently, so replaying something already handled does nothing —
// and removes it from the stream when it succeeds.
package deadletter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/httpserver"
)

// Letter is one dead-lettered message, as ops see it.
type Letter struct {
	Sequence   uint64    `json:"sequence"`
	Consumer   string    `json:"consumer"`
	Subject    string    `json:"subject"`
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	Reason     string    `json:"reason"`
	Deliveries int       `json:"deliveries"`
	Time       time.Time `json:"time"`
	Data       string    `json:"data"`
}

// Page is a page of dead letters; NextCursor is empty on the last.
type Page struct {
	Items      []Letter `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Box is one service's view of the dead-letter stream: only its own consumers' letters.
type Box struct {
	js        jetstream.JetStream
	consumers map[string]*bus.Consumer
}

// New returns the box of the given consumers.
func New(js jetstream.JetStream, consumers []*bus.Consumer) (*Box, error) {
	if js == nil {
		return nil, errors.New("deadletter: jetstream is required")
	}
	m := make(map[string]*bus.Consumer, len(consumers))
	for _, c := range consumers {
		m[c.Durable()] = c
	}
	return &Box{js: js, consumers: m}, nil
}

// scanLimit bounds how many stream messages one page may look at.
const scanLimit = 2000

// List returns up to limit of this service's dead letters from sequence `after` on.
func (b *Box) List(ctx context.Context, after uint64, limit int) (Page, error) {
	page := Page{Items: []Letter{}}
	stream, err := b.js.Stream(ctx, events.StreamDeadLetter)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return page, nil
	}
	if err != nil {
		return page, apperr.Wrap(apperr.Unavailable, err, "the dead-letter stream is unavailable")
	}
	seq := after + 1
	for scanned := 0; scanned < scanLimit && len(page.Items) < limit; scanned++ {
		m, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(events.SubjectsDeadLetter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return page, nil
		}
		if err != nil {
			return page, apperr.Wrap(apperr.Unavailable, err, "the dead-letter stream is unavailable")
		}
		seq = m.Sequence + 1
		if l, ok := b.letter(m); ok {
			page.Items = append(page.Items, l)
		}
	}
	page.NextCursor = strconv.FormatUint(seq-1, 10)
	return page, nil
}

// Replay hands the letter at seq back to its consumer and, when it is handled,
// removes it from the stream.
func (b *Box) Replay(ctx context.Context, seq uint64) (Letter, error) {
	stream, err := b.js.Stream(ctx, events.StreamDeadLetter)
	if err != nil {
		return Letter{}, apperr.New(apperr.NotFound, "dead letter %d not found", seq)
	}
	m, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Letter{}, apperr.New(apperr.NotFound, "dead letter %d not found", seq)
	}
	if err != nil {
		return Letter{}, apperr.Wrap(apperr.Unavailable, err, "the dead-letter stream is unavailable")
	}
	l, ok := b.letter(m)
	if !ok {
		return Letter{}, apperr.New(apperr.NotFound, "dead letter %d not found", seq)
	}
	env, err := bus.Envelope(l.Subject, m.Header, m.Data)
	if err != nil {
		return l, apperr.Wrap(apperr.Conflict, err, "dead letter %d is not an event and cannot be replayed", seq)
	}
	if err := b.consumers[l.Consumer].Process(ctx, env); err != nil {
		return l, apperr.Wrap(apperr.Conflict, err, "replaying dead letter %d failed again: %v", seq, err)
	}
	if err := stream.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return l, apperr.Wrap(apperr.Unavailable, err, "dead letter %d was handled but could not be removed", seq)
	}
	return l, nil
}

func (b *Box) letter(m *jetstream.RawStreamMsg) (Letter, bool) {
	consumer := m.Header.Get(bus.HeaderDeadConsumer)
	if _, ours := b.consumers[consumer]; !ours {
		return Letter{}, false
	}
	deliveries, _ := strconv.Atoi(m.Header.Get(bus.HeaderDeliveries))
	t, _ := time.Parse(time.RFC3339Nano, m.Header.Get(bus.HeaderDeadTime))
	return Letter{
		Sequence: m.Sequence, Consumer: consumer, Subject: m.Header.Get(bus.HeaderDeadSubject),
		EventID: m.Header.Get(bus.HeaderID), EventType: m.Header.Get(bus.HeaderType),
		Reason: m.Header.Get(bus.HeaderDeadReason), Deliveries: deliveries, Time: t, Data: string(m.Data),
	}, true
}

// Paths of the dead-letter API. Each service's OpenAPI document describes them (with
// x-roles: [ops]), so requests are validated and authorised like any other.
//
// PathReplayDeprecated is the replay's path before actions were named by nouns; it
// answers as PathReplay does until its sunset, with the deprecation headers the
// documents give it (httpserver adds them).
const (
	PathList             = "/v1/ops/dead-letters"
	PathReplay           = "/v1/ops/dead-letters/:sequence/replays"
	PathReplayDeprecated = "/v1/ops/dead-letters/:sequence/replay"
)

// Register adds the dead-letter API to e.
func Register(e httpserver.Router, b *Box) {
	e.GET(PathList, func(c httpserver.Context) error {
		after, err := parseSeq(c.QueryParam("cursor"), "cursor", true)
		if err != nil {
			return err
		}
		limit := 50
		if l := c.QueryParam("limit"); l != "" {
			if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 200 {
				return apperr.Field("limit", "must be between 1 and 200")
			}
		}
		page, err := b.List(c.Request().Context(), after, limit)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, page)
	})
	replay := func(c httpserver.Context) error {
		seq, err := parseSeq(c.Param("sequence"), "sequence", false)
		if err != nil {
			return err
		}
		l, err := b.Replay(c.Request().Context(), seq)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, l)
	}
	e.POST(PathReplay, replay)
	e.POST(PathReplayDeprecated, replay)
}

func parseSeq(s, field string, optional bool) (uint64, error) {
	if s == "" && optional {
		return 0, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || (!optional && n == 0) {
		return 0, apperr.Field(field, "must be a positive whole number")
	}
	return n, nil
}

// String describes a letter for logs.
func (l Letter) String() string {
	return fmt.Sprintf("dead letter %d (%s on %s): %s", l.Sequence, l.Consumer, l.Subject, l.Reason)
}
