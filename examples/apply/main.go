// Command apply submits an application to the Technician Commitment Collaboration
// Fund from end to end, with the fund's typed Go client. It is written to be copied:
// every step is one an applicant's own tools take, in the order the fund's guide
// ("Your first application", at the fund's /docs) describes.
//
//	FUND_URL=https://fund.example FUND_TOKEN=<an applicant token> go run ./apply \
//	    -endorser-name "Sam Patel" -endorser-email s.patel@exampleton.ac.uk
//
// FUND_TOKEN is an API token your organisation's nominated lead (or a colleague the
// lead names) makes for the tool in the portal (Your pages, API tokens); it is shown once, so keep it in the tool's
// secret store. A 401 means it was revoked or has expired: ask for a new one.
//
// It lists the open rounds (public), drafts an application in the first one (or the
// round given with -round) under an Idempotency-Key, submits it, reads it back and
// prints its status. A 400 prints each field the fund refused and why.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/itss/techcommit/services/fund/api"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "apply:", err)
		os.Exit(1)
	}
}

// options are the application's content. The defaults make a small, valid
// application; the endorsement has none, because it must name the organisation's
// nominated Technician Commitment lead as the suite records them.
type options struct {
	round         string
	title         string
	summary       string
	theme         string
	amountPence   int64
	partner       string
	endorserName  string
	endorserEmail string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	fs.StringVar(&o.round, "round", "", "the round to apply to (default: the first open round)")
	fs.StringVar(&o.title, "title", "Shared 3D-printing skills exchange", "the project's title")
	fs.StringVar(&o.summary, "summary", "Technicians from both institutions run four joint workshops.", "what the project does")
	fs.StringVar(&o.theme, "theme", string(api.CareerDevelopment), "the Technician Commitment theme it serves")
	fs.Int64Var(&o.amountPence, "amount", 50000, "the amount requested, in pence")
	fs.StringVar(&o.partner, "partner", "Exampleton College", "the partner organisation's name")
	fs.StringVar(&o.endorserName, "endorser-name", "", "your organisation's nominated Technician Commitment lead (required)")
	fs.StringVar(&o.endorserEmail, "endorser-email", "", "their email address, as on the signed form (required)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.endorserName == "" || o.endorserEmail == "" {
		return o, errors.New("-endorser-name and -endorser-email are required: the endorsement is your organisation's nominated lead")
	}
	return o, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	base, token := os.Getenv("FUND_URL"), os.Getenv("FUND_TOKEN")
	if base == "" || token == "" {
		return errors.New("set FUND_URL (the fund's address) and FUND_TOKEN (your applicant token)")
	}

	// One client for every call: it sends the token, and its HTTP client waits and
	// retries when the fund asks it to (see retrying below).
	fund, err := api.NewClientWithResponses(base,
		api.WithHTTPClient(&retrying{next: &http.Client{Timeout: 30 * time.Second}, out: out}),
		api.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	if err != nil {
		return fmt.Errorf("make the fund's client: %w", err)
	}

	// 1. The open rounds and their rules (amounts, themes, project window). Anyone may
	// read them; the token is sent but not needed.
	open := api.ListRoundsParamsStatusOpen
	rounds, err := fund.ListRoundsWithResponse(ctx, &api.ListRoundsParams{Status: &open})
	if err != nil {
		return fmt.Errorf("list the open rounds: %w", err)
	}
	if rounds.JSON200 == nil {
		return problem("list the open rounds", rounds.HTTPResponse, rounds.Body)
	}
	var round *api.Round
	for i, r := range rounds.JSON200.Items {
		fmt.Fprintf(out, "open round %s %q: %d–%d pence, closes %s\n", r.Id, r.Name, r.MinAwardPence, r.MaxAwardPence, r.Closes.Format(time.RFC3339))
		if round == nil && (o.round == "" || o.round == r.Id) {
			round = &rounds.JSON200.Items[i]
		}
	}
	if round == nil {
		return errors.New("no open round to apply to")
	}

	// 2. The draft. The Idempotency-Key makes it safe to send again: if the answer is
	// lost (a timeout, a dropped connection), the same key and body return the same
	// draft instead of making a second. Keep the key until you have the answer.
	key := uuid.NewString()
	draft, err := fund.CreateApplicationWithResponse(ctx, &api.CreateApplicationParams{IdempotencyKey: &key}, api.ApplicationRequest{
		RoundId:              round.Id,
		Title:                o.title,
		Summary:              o.summary,
		Themes:               []api.Theme{api.Theme(o.theme)},
		RequestedAmountPence: o.amountPence,
		Partners:             []api.Partner{{Name: o.partner}},
		Endorsement:          api.Endorsement{Name: o.endorserName, Email: openapi_types.Email(o.endorserEmail)},
		// The budget lines must add up to the amount requested.
		BudgetLines: []api.BudgetLine{{Description: "Consumables and travel", AmountPence: o.amountPence}},
		// Milestones fall within the round's project window.
		Milestones: []api.Milestone{{Description: "Final showcase", Due: round.ProjectEnd}},
	})
	if err != nil {
		return fmt.Errorf("draft the application: %w", err)
	}
	if draft.JSON201 == nil {
		return problem("draft the application", draft.HTTPResponse, draft.Body)
	}
	id := draft.JSON201.Id
	fmt.Fprintf(out, "drafted application %s (Idempotency-Key %s)\n", id, key)

	// 3. Submit it. A draft may still be changed (PUT /v1/applications/{id}); once
	// submitted it goes to assessment and cannot.
	submitKey := uuid.NewString()
	submitted, err := fund.CreateApplicationSubmissionWithResponse(ctx, id, &api.CreateApplicationSubmissionParams{IdempotencyKey: &submitKey})
	if err != nil {
		return fmt.Errorf("submit application %s: %w", id, err)
	}
	if submitted.JSON200 == nil {
		return problem("submit application "+id, submitted.HTTPResponse, submitted.Body)
	}

	// 4. Read it back: its status moves on (in_assessment, then awarded or declined
	// with award_pence and report_due) as ITSS decides.
	got, err := fund.GetApplicationWithResponse(ctx, id)
	if err != nil {
		return fmt.Errorf("read application %s: %w", id, err)
	}
	if got.JSON200 == nil {
		return problem("read application "+id, got.HTTPResponse, got.Body)
	}
	fmt.Fprintf(out, "application %s is %s\n", id, got.JSON200.Status)
	return nil
}

// problem describes an answer that is not the one hoped for. The fund's errors are
// RFC 9457 problem+json; a 400 lists each refused field in errors[].
func problem(what string, resp *http.Response, body []byte) error {
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	var p api.Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Title == "" {
		return fmt.Errorf("%s: HTTP %d: %s", what, status, strings.TrimSpace(string(body)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d %s", what, status, p.Title)
	if p.Detail != nil {
		fmt.Fprintf(&b, ": %s", *p.Detail)
	}
	if p.Errors != nil {
		for _, e := range *p.Errors {
			fmt.Fprintf(&b, "\n  %s: %s", e.Field, e.Message)
		}
	}
	if p.RequestId != nil {
		fmt.Fprintf(&b, "\n  (request id %s: quote it to ITSS)", *p.RequestId)
	}
	return errors.New(b.String())
}

// retrying sends a request again when the fund says to wait: 429 (too many requests)
// and a passing 409 (one the fund expects to clear, such as a signatory it has not
// learned of yet), both with Retry-After in seconds. A 409 without Retry-After is a
// real conflict and is returned as it is. With an Idempotency-Key a retry never does
// anything twice.
type retrying struct {
	next api.HttpRequestDoer
	out  io.Writer
}

// maxTries bounds the waiting: a fund that keeps asking for it has a problem a human
// should look at.
const maxTries = 10

func (r *retrying) Do(req *http.Request) (*http.Response, error) {
	for try := 1; ; try++ {
		resp, err := r.next.Do(req)
		if err != nil {
			return nil, err
		}
		wait, ok := retryAfter(resp)
		if !ok || try == maxTries {
			return resp, nil
		}
		// Drain and close, so that the connection is reused.
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		fmt.Fprintf(r.out, "%s %s: %d, retrying in %s\n", req.Method, req.URL.Path, resp.StatusCode, wait)
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(wait):
		}
		// The body was read by the first send; the client's requests can give it again.
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		} else if req.Body != nil && req.Body != http.NoBody {
			return resp, nil
		}
	}
}

// retryAfter says whether and how long to wait before sending again.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusConflict {
		return 0, false
	}
	h := resp.Header.Get("Retry-After")
	secs, err := strconv.Atoi(h)
	switch {
	case err == nil && secs >= 0:
		return time.Duration(secs) * time.Second, true
	case resp.StatusCode == http.StatusTooManyRequests:
		return time.Second, true // a 429 always means wait, even without a usable header
	default:
		return 0, false
	}
}
