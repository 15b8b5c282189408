package app

import (
	"context"
	"errors"
	"strings"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// Held is what notify holds about one person.
type Held struct {
	Roles       []HeldRole
	Assignments []Assignment
	// Deliveries are the log entries addressed to them, without bodies.
	Deliveries []Delivery
	// Mentioned are the log entries of emails to others that name them
	// (Delivery.Mentions): their id, organisation, kind, subject and time alone.
	Mentioned []Delivery
}

// HeldRole is a role a person holds at an organisation in notify's records.
type HeldRole struct {
	OrganisationID string
	Role           string // RoleLead or RoleHead
	Person         mail.Person
}

// PersonalRecords finds what notify's records hold about an address.
type PersonalRecords interface {
	HeldAbout(ctx context.Context, email string) (Held, error)
}

// UsePersonalRecords gives the app what subject access reads.
func (a *App) UsePersonalRecords(p PersonalRecords) error {
	if p == nil {
		return errors.New("app: personal records are required")
	}
	a.personal = p
	return nil
}

// SubjectAccess gathers what notify holds about the person with this address (ops).
func (a *App) SubjectAccess(ctx context.Context, by auth.Principal, email string) (Held, error) {
	if !by.IsOps() {
		return Held{}, apperr.New(apperr.Forbidden, "only ITSS operations staff answer subject access requests")
	}
	if a.personal == nil {
		return Held{}, apperr.New(apperr.Unavailable, "subject access is not set up in this service")
	}
	if strings.TrimSpace(email) == "" {
		return Held{}, apperr.Field("email", "is required")
	}
	return a.personal.HeldAbout(ctx, email)
}
