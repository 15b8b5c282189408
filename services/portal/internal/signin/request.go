package signin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
)

// Requester answers "email me a sign-in link". Whatever the address, the person is
// told the same thing; only an address the records hold gets a link, sent by notify.
type Requester struct {
	people    *People
	links     *Links
	js        jetstream.JetStream
	publicURL string
	clock     clock.Clock
	logger    *slog.Logger
	logKey    []byte // see LogName
	// perAddress bounds the links one address is sent in each quarter hour, whoever
	// asks; perClient the requests of one client in each minute, whatever the
	// address. Both are counted in the database (Links.Take), across replicas.
	perAddress, perClient int
	inFlight              sync.WaitGroup
}

// RequesterDeps are what a Requester needs.
type RequesterDeps struct {
	People    *People
	Links     *Links
	JS        jetstream.JetStream
	PublicURL string
	Clock     clock.Clock
	Logger    *slog.Logger
	// LogKey keys the names the log gives people (LogName): a secret every replica
	// shares, so that one person reads alike in every replica's log.
	LogKey []byte
	// PerAddress links per address in each LinkLifetime, PerClient requests per client
	// in each minute.
	PerAddress, PerClient int
}

// NewRequester checks its dependencies.
func NewRequester(d RequesterDeps) (*Requester, error) {
	if d.People == nil || d.Links == nil || d.JS == nil || d.PublicURL == "" || d.Clock == nil || d.Logger == nil || len(d.LogKey) < 32 || d.PerAddress < 1 || d.PerClient < 1 {
		return nil, errors.New("signin: people, links, jetstream, public URL, clock, logger, a log key of 32 bytes and rate limits are required")
	}
	return &Requester{people: d.People, links: d.Links, js: d.JS, publicURL: d.PublicURL, clock: d.Clock, logger: d.Logger,
		logKey: d.LogKey, perAddress: d.PerAddress, perClient: d.PerClient}, nil
}

// LogName is how the log names the person of an address: a digest keyed with a secret,
// so that the log tells one person's requests apart from another's without saying
// whose they are. It is not the person's pseudonym (Pseudonyms.Of), which the
// services' audit trails hold: the log's name of a person must not join it to what
// they changed. (The unkeyed pseudonym of earlier releases was worse: anyone reading
// the log who guesses an address could work it out and find when that person signed
// in, even after their erasure.)
func LogName(key []byte, email string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(NormaliseEmail(email)))
	return "person-" + hex.EncodeToString(m.Sum(nil)[:12])
}

// ErrTooManyRequests says a client asked too often; the page says to wait.
var ErrTooManyRequests = errors.New("too many sign-in requests from this client")

// LinkPath is the path of a sign-in link, secret included.
func LinkPath(secret string) string { return "/signin/" + url.PathEscape(secret) }

// sendTimeout bounds the work of one request done after its answer.
const sendTimeout = 10 * time.Second

// Request sends a link to email when the records hold it. It returns an error only
// when the client asked too often: everything else (looking the address up, making
// the link, handing it to notify) happens after the answer, so that the answer takes
// as long for an address the suite holds as for one it does not.
func (r *Requester) Request(ctx context.Context, email, client string) error {
	ok, err := r.links.Take(ctx, "client:"+digest("tc-portal-client:"+client), r.perClient, time.Minute)
	if err != nil {
		return err
	}
	if !ok {
		return ErrTooManyRequests
	}
	r.inFlight.Add(1)
	go func() {
		defer r.inFlight.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		defer cancel()
		if err := r.send(ctx, email); err != nil {
			r.logger.WarnContext(ctx, "sign-in link not sent", "person", LogName(r.logKey, email), "error", err)
		}
	}()
	return nil
}

// Wait returns once every request answered so far has been dealt with: at shutdown,
// and in tests before they count what was sent.
func (r *Requester) Wait() { r.inFlight.Wait() }

// send sends a link to email if the records hold it and it has not asked too often.
func (r *Requester) send(ctx context.Context, email string) error {
	email = NormaliseEmail(email)
	person, err := r.people.Lookup(ctx, email)
	if err != nil {
		return err
	}
	if !person.Known() {
		return nil
	}
	// Counted only for known addresses: the limit protects their inboxes, and
	// counting unknown ones too would change nothing anyone can see.
	ok, err := r.links.Take(ctx, quotaAddress+person.Pseudonym, r.perAddress, LinkLifetime)
	if err != nil {
		return err
	}
	if !ok {
		r.logger.InfoContext(ctx, "sign-in link not sent: the address asked too often", "person", LogName(r.logKey, email))
		return nil
	}
	secret, expires, err := r.links.Issue(ctx, email)
	if err != nil {
		return err
	}
	data, err := json.Marshal(events.SigninLinkRequestedV1{Email: email, Name: person.Name(), Link: r.publicURL + LinkPath(secret), ExpiresAt: expires})
	if err != nil {
		return fmt.Errorf("encode sign-in link request: %w", err)
	}
	ev := events.SigninLinkRequestedV1{}
	env := events.Envelope{ID: uuid.NewString(), Source: "/tc/portal", Type: ev.EventType(), AggregateType: "signin",
		AggregateID: person.Pseudonym, Version: 1, Time: r.clock.Now(), Actor: "system:portal", Data: data}
	if _, err := r.js.PublishMsg(ctx, bus.Message(env)); err != nil {
		return fmt.Errorf("publish sign-in link request: %w", err)
	}
	r.logger.InfoContext(ctx, "sign-in link sent", "person", LogName(r.logKey, email))
	return nil
}

// digest is a short digest of s, for counting a client without keeping its address.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}
