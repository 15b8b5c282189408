package pages

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
	_ "time/tzdata" // dates are shown on the London clock wherever the portal runs

	"github.com/itss/techcommit/libs/money"
	"github.com/itss/techcommit/services/portal/internal/clients"
	"github.com/itss/techcommit/services/portal/internal/pages/form"

	fundapi "github.com/itss/techcommit/services/fund/api"
	sigapi "github.com/itss/techcommit/services/signatory/api"
)

// directoryPage is how many organisations one page of the directory shows: the
// page costs what it shows, however many organisations have joined.
const directoryPage = 50

type directoryEntry struct {
	Name, Kind, Joined, Website, PlanPage string
	// Contact is the organisation's named public point of contact, with its address.
	ContactName, ContactTitle, ContactEmail string
}

type directoryData struct {
	form.Directory
	Entries []directoryEntry
	// First says the entries are the directory's first page, and Next links to the
	// one after, if any.
	First           bool
	Next, FirstLink string
}

// directory lists the organisations the signatory service lists publicly, a page at
// a time, filtered there by kind and by a part of the name.
func (h *Handler) directory(w http.ResponseWriter, r *http.Request) {
	f, errs := form.ParseDirectory(r.URL.Query())
	data := directoryData{Directory: f}
	for _, e := range errs {
		if e.Field == "cursor" {
			h.pageGone(w, r)
			return
		}
	}
	if len(errs) > 0 {
		h.show(w, r, http.StatusBadRequest, "directory", "Directory", errs, data)
		return
	}
	set, err := h.clients.Public(h.client(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	limit := directoryPage
	params := sigapi.ListDirectoryParams{Limit: &limit}
	if f.Kind != "" {
		kind := sigapi.Kind(f.Kind)
		params.Kind = &kind
	}
	if f.Name != "" {
		params.Name = &f.Name
	}
	data.First = f.Cursor == ""
	if f.Cursor != "" {
		params.Cursor = &f.Cursor
	}
	resp, err := set.Signatory.ListDirectoryWithResponse(r.Context(), &params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	for _, e := range resp.JSON200.Items {
		entry := directoryEntry{Name: string(e.Name), Kind: opsHumanise(string(e.Kind)), Joined: longDate(e.AnnouncedOn.Time)}
		if e.Website != nil {
			entry.Website = string(*e.Website)
		}
		if e.PlanPage != nil {
			entry.PlanPage = string(*e.PlanPage)
		}
		entry.ContactName = string(e.PointOfContact.Name)
		if e.PointOfContact.Title != nil {
			entry.ContactTitle = string(*e.PointOfContact.Title)
		}
		if e.PointOfContact.Email != nil {
			entry.ContactEmail = string(*e.PointOfContact.Email)
		}
		data.Entries = append(data.Entries, entry)
	}
	if resp.JSON200.NextCursor != nil {
		data.Next = directoryLink(f.Kind, f.Name, *resp.JSON200.NextCursor)
	}
	data.FirstLink = directoryLink(f.Kind, f.Name, "")
	h.show(w, r, http.StatusOK, "directory", "Directory", nil, data)
}

// directoryLink is the address of a page of the directory of one kind and a part
// of the name ("" any).
func directoryLink(kind, name, cursor string) string {
	q := url.Values{}
	if kind != "" {
		q.Set("kind", kind)
	}
	if name != "" {
		q.Set("name", name)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if len(q) == 0 {
		return "/directory"
	}
	return "/directory?" + q.Encode()
}

type roundRow struct{ Name, Closes, Awards, Project string }

type roundsData struct{ Rounds []roundRow }

func (h *Handler) rounds(w http.ResponseWriter, r *http.Request) {
	set, err := h.clients.Public(h.client(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := fundapi.ListRoundsParamsStatusOpen
	limit := 200
	resp, err := set.Fund.ListRoundsWithResponse(r.Context(), &fundapi.ListRoundsParams{Status: &status, Limit: &limit})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p := clients.Check(resp.HTTPResponse, resp.Body); p != nil {
		h.serviceProblem(w, r, p)
		return
	}
	var data roundsData
	for _, rd := range resp.JSON200.Items {
		data.Rounds = append(data.Rounds, roundRow{Name: rd.Name, Closes: longTime(rd.Closes),
			Awards:  fmt.Sprintf("%s to %s", money.Pounds(rd.MinAwardPence), money.Pounds(rd.MaxAwardPence)),
			Project: fmt.Sprintf("%s to %s", longDate(rd.ProjectStart.Time), longDate(rd.ProjectEnd.Time))})
	}
	h.show(w, r, http.StatusOK, "rounds", "Open fund rounds", nil, data)
}

// london is the one zone dates are shown in.
var london = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err) // the binary embeds the zone database (time/tzdata in main)
	}
	return l
}()

// longDate is a day in the suite's one style: "Friday 4 December 2026".
func longDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("Monday 2 January 2006")
}

// longTime is a moment in the suite's one style: "Friday 4 December 2026, 17:00 GMT".
func longTime(t time.Time) string {
	return t.In(london).Format("Monday 2 January 2006, 15:04 MST")
}
