package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
)

// tokenLifetime is how long development tokens are valid: the most the services
// accept unless AUTH_MAX_TOKEN_LIFETIME says otherwise.
const tokenLifetime = time.Hour

// roleServices are the services each role calls, which a token is minted for unless
// -aud names others: a token is good only at the services its audience names.
var roleServices = map[auth.Role][]string{
	auth.RoleOps:       {"signatory", "review", "notify", "fund"},
	auth.RoleLead:      {"signatory", "review", "notify", "fund"},
	auth.RoleReviewer:  {"review", "notify"},
	auth.RoleApplicant: {"fund"},
}

// audiences are the token audiences naming services.
func audiences(services []string) []string {
	out := make([]string, len(services))
	for i, s := range services {
		out[i] = config.DevAudience(s)
	}
	return out
}

// parseServices reads -aud: service names separated by commas, or "all".
func parseServices(list string) ([]string, error) {
	if list == "all" {
		return serviceNames(), nil
	}
	var out []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(serviceNames(), name) {
			return nil, fmt.Errorf("-aud %q: %q is not one of %s (or all)", list, name, strings.Join(serviceNames(), ", "))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// printToken mints a development token signed with the local stack's key.
func printToken(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	role := fs.String("role", "ops", "ops, lead, reviewer or applicant")
	org := fs.String("org", "", "the organisation the caller acts for (required except for ops)")
	sub := fs.String("sub", "", "the subject (user id); defaults to <role>-dev")
	aud := fs.String("aud", "", "the services the token is for, e.g. review,notify, or all; defaults to those the role calls "+
		"(ops and lead: all; reviewer: review,notify; applicant: fund)")
	dataDir := fs.String("data", ".data", "the stack's data directory, which holds its signing key")
	ttl := fs.Duration("ttl", tokenLifetime, "how long the token is valid (at most "+tokenLifetime.String()+", the most the services accept)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r := auth.Role(*role)
	if !r.Valid() {
		return fmt.Errorf("role %q: must be ops, lead, reviewer or applicant", *role)
	}
	if r != auth.RoleOps && *org == "" {
		return errors.New("-org is required for every role but ops")
	}
	if *ttl <= 0 || *ttl > tokenLifetime {
		return fmt.Errorf("-ttl %s: must be positive and at most %s, or the services refuse the token", *ttl, tokenLifetime)
	}
	svcs := roleServices[r]
	if *aud != "" {
		var err error
		if svcs, err = parseServices(*aud); err != nil {
			return err
		}
	}
	if *sub == "" {
		*sub = *role + "-dev"
	}
	// Read, never made here: a key made for a directory no stack runs on (a forgotten
	// DATA_DIR, a stack on another port offset) would sign tokens every service refuses.
	keyFile := filepath.Join(*dataDir, "dev-signing-key.pem")
	if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no signing key at %s: the local stack makes it at its first start (make run, or tcdev run -data %s); give the -data (DATA_DIR) of the stack the token is for", keyFile, *dataDir)
	}
	issuer, err := auth.LoadDevIssuer(keyFile, issuerURL, config.DevAudience(svcs[0]))
	if err != nil {
		return err
	}
	tok, err := issuer.MintFor(auth.Principal{Subject: *sub, Role: r, Org: *org}, *ttl, audiences(svcs)...)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, tok)
	return err
}
