package app

import (
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
)

// Page is one page of a list and the cursor of the next, empty on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
	// Total is how many items the filters match over every page, where the list
	// says (the ops list of organisations).
	Total int
}

// ListQuery filters and pages the ops list of organisations.
type ListQuery struct {
	Status organisation.Status
	Kind   organisation.Kind
	// Name is a part of the name, matched without regard to case ("" any).
	Name   string
	Limit  int
	Cursor string
}

// DirectoryQuery filters and pages the public directory.
type DirectoryQuery struct {
	Kind organisation.Kind
	// Name is a part of the name, matched without regard to case ("" any).
	Name   string
	Limit  int
	Cursor string
	// Today is the London date: organisations announced after it are not listed yet.
	Today civil.Date
}

// PageQuery pages a list that has no filters (history, obligations).
type PageQuery struct {
	Limit  int
	Cursor string
}

// position is the cursor of a list kept in order of a sequence number: how many
// items came before the next page.
type position struct {
	After int `json:"after"`
}

func afterCursor(cursor string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	var p position
	if err := store.DecodeCursor(cursor, &p); err != nil || p.After <= 0 {
		return 0, store.BadCursor()
	}
	return p.After, nil
}

// pageOf cuts the page of at most limit items after the first after items.
func pageOf[T any](all []T, after, limit int) Page[T] {
	page := Page[T]{Items: []T{}}
	if after >= len(all) {
		return page
	}
	end := min(after+limit, len(all))
	page.Items = append(page.Items, all[after:end]...)
	if end < len(all) {
		page.NextCursor = store.EncodeCursor(position{After: end})
	}
	return page
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
