package app

import (
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

// Page is one page of a list and the cursor of the next, empty on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// ListQuery filters and pages the ops list of organisations.
type ListQuery struct {
	Status organisation.Status
	Kind   organisation.Kind
	Limit  int
	Cursor string
}

// DirectoryQuery filters and pages the public directory.
type DirectoryQuery struct {
	Kind   organisation.Kind
	Limit  int
	Cursor string
}

// Summary is an organisation in the ops list.
type Summary struct {
	ID          string
	Name        string
	Kind        organisation.Kind
	Sector      string
	Country     string
	Status      organisation.Status
	AnnouncedOn civil.Date
	NextDue     civil.Date
	Version     int
}

// DirectoryEntry is an organisation as the public sees it: nothing about people but
// the public point of contact.
type DirectoryEntry struct {
	ID             string
	Name           string
	Kind           organisation.Kind
	AnnouncedOn    civil.Date
	Website        string
	PlanPage       string
	PointOfContact organisation.Person
}
