package main

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/itss/techcommit/libs/auth"
)

// printToken mints a development token signed with the local stack's key.
func printToken(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	role := fs.String("role", "ops", "ops, lead, reviewer or applicant")
	org := fs.String("org", "", "the organisation the caller acts for (required except for ops)")
	sub := fs.String("sub", "", "the subject (user id); defaults to <role>-dev")
	dataDir := fs.String("data", ".data", "the stack's data directory, which holds its signing key")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
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
	if *sub == "" {
		*sub = *role + "-dev"
	}
	issuer, err := auth.LoadOrCreateDevIssuer(filepath.Join(*dataDir, "dev-signing-key.pem"), issuerURL, audience)
	if err != nil {
		return err
	}
	tok, err := issuer.Mint(auth.Principal{Subject: *sub, Role: r, Org: *org}, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}
