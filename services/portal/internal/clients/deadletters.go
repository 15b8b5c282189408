package clients

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/itss/techcommit/libs/auth"
)

// The dead-letter operations (/v1/ops/dead-letters) are the platform's, the same in
// every service (libs/deadletter), and are left out of the services' generated
// clients; their OpenAPI documents describe the bodies only as objects, so a
// generated client would decode nothing. This small client calls them for the ops
// console, with the same portal-signed token for the signed-in person as the
// generated clients carry.

// Letter is one dead-lettered message, as the services list it.
type Letter struct {
	Sequence   uint64    `json:"sequence"`
	Consumer   string    `json:"consumer"`
	Subject    string    `json:"subject"`
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	Reason     string    `json:"reason"`
	Deliveries int       `json:"deliveries"`
	Time       time.Time `json:"time"`
}

// LetterPage is a page of one service's dead letters.
type LetterPage struct {
	Items      []Letter `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// ServiceNames are the services whose dead letters the console shows, in order.
var ServiceNames = []string{"signatory", "review", "notify", "fund"}

// DeadLetters calls the dead-letter operations of the four services as one person.
type DeadLetters struct {
	c *Clients
	p auth.Principal
}

// DeadLettersFor returns the dead-letter client acting as p.
func (c *Clients) DeadLettersFor(p auth.Principal) *DeadLetters { return &DeadLetters{c: c, p: p} }

func (d *DeadLetters) service(name string) (Service, bool) {
	switch name {
	case "signatory":
		return d.c.cfg.Signatory, true
	case "review":
		return d.c.cfg.Review, true
	case "notify":
		return d.c.cfg.Notify, true
	case "fund":
		return d.c.cfg.Fund, true
	}
	return Service{}, false
}

// List returns up to 200 of a service's dead letters after the cursor.
func (d *DeadLetters) List(ctx context.Context, service, cursor string) (LetterPage, error) {
	q := url.Values{"limit": {"200"}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var page LetterPage
	err := d.call(ctx, http.MethodGet, service, "/v1/ops/dead-letters?"+q.Encode(), &page)
	return page, err
}

// Replay hands a dead letter back to its consumer; a refusal (it failed again, it
// is gone) is a *Problem.
func (d *DeadLetters) Replay(ctx context.Context, service string, seq uint64) (Letter, error) {
	var l Letter
	err := d.call(ctx, http.MethodPost, service, "/v1/ops/dead-letters/"+strconv.FormatUint(seq, 10)+"/replays", &l)
	return l, err
}

func (d *DeadLetters) call(ctx context.Context, method, service, path string, out any) error {
	s, ok := d.service(service)
	if !ok {
		return &Problem{Status: http.StatusNotFound, Detail: "no such service"}
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, nil)
	if err != nil {
		return fmt.Errorf("dead letters of %s: %w", service, err)
	}
	tok, err := d.c.minter.Mint(d.p, s.Audience)
	if err != nil {
		return fmt.Errorf("dead letters of %s: %w", service, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	resp, err := d.c.http.Do(req)
	if err != nil {
		return fmt.Errorf("dead letters of %s: %w", service, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("dead letters of %s: %w", service, err)
	}
	if p := Check(resp, body); p != nil {
		return p
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("dead letters of %s: decode: %w", service, err)
	}
	return nil
}
