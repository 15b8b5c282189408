package clients

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/itss/techcommit/libs/auth"
)

// Subject access (/v1/ops/subject-access) is the platform's, the same in every
// service (libs/platform), and review and fund tag it with the operations left out
// of their generated clients. The console wants each service's answer as it stands,
// to hand on whole, so this small client calls all four alike and keeps the answers
// undecoded.

// SubjectAccessAnswers are the four services' answers about one address, by service
// name, and the services that did not answer.
type SubjectAccessAnswers struct {
	Answers map[string]json.RawMessage
	Failed  []string
}

// SubjectAccess asks every service, as p, what it holds about email, and those that
// keep an audit trail (all but notify) also what the person changed as one of actors
// ("lead:<pseudonym>", "ops:<OpenID subject>"). A service that fails is named in
// Failed and its error goes to logf; the error never carries the address, which
// stays in the request bodies only.
func (c *Clients) SubjectAccess(ctx context.Context, p auth.Principal, email string, actors []string, logf func(service string, err error)) SubjectAccessAnswers {
	d := &DeadLetters{c: c, p: p}
	plain, err := json.Marshal(map[string]any{"email": email})
	if err != nil {
		panic("encode subject access request: " + err.Error())
	}
	acting := plain
	if len(actors) > 0 {
		if acting, err = json.Marshal(map[string]any{"email": email, "actors": actors}); err != nil {
			panic("encode subject access request: " + err.Error())
		}
	}
	out := SubjectAccessAnswers{Answers: map[string]json.RawMessage{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range ServiceNames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Notify records no one's changes: it is asked by address alone.
			body := acting
			if name == "notify" {
				body = plain
			}
			raw, err := c.subjectAccess(ctx, d, name, body)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out.Failed = append(out.Failed, name)
				logf(name, err)
				return
			}
			out.Answers[name] = raw
		}()
	}
	wg.Wait()
	// The order the services were asked in, not the order they answered in.
	var failed []string
	for _, name := range ServiceNames {
		for _, f := range out.Failed {
			if f == name {
				failed = append(failed, name)
			}
		}
	}
	out.Failed = failed
	return out
}

func (c *Clients) subjectAccess(ctx context.Context, d *DeadLetters, name string, body []byte) (json.RawMessage, error) {
	s, _ := d.service(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1/ops/subject-access", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("subject access of %s: %w", name, err)
	}
	tok, err := c.minter.Mint(d.p, s.Audience)
	if err != nil {
		return nil, fmt.Errorf("subject access of %s: %w", name, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("subject access of %s: %w", name, err)
	}
	defer resp.Body.Close()
	// A person's records are few; 64 MiB bounds a service gone wrong.
	got, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("subject access of %s: %w", name, err)
	}
	if p := Check(resp, got); p != nil {
		// The status only: a refusal's detail could quote what was asked.
		return nil, fmt.Errorf("subject access of %s: service answered %d", name, p.Status)
	}
	if !json.Valid(got) {
		return nil, fmt.Errorf("subject access of %s: the answer is not JSON", name)
	}
	return json.RawMessage(got), nil
}
