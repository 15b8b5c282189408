package config

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// CheckMailbox accepts a bare email address (local@domain, no display name), which
// an email header and a mailto: link can carry as it is. The services' own
// addresses (the one mail is sent from, the one people are told to write to) are
// checked with it, so that a typo stops start-up instead of reaching people.
func CheckMailbox(s string) error {
	if s == "" {
		return errors.New("must be set")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.ContainsAny(s, "?#%&") {
		return fmt.Errorf("%q must be a bare email address such as name@example.org", s)
	}
	return nil
}
