package pages

import (
	"net/http"
	"slices"

	"github.com/itss/techcommit/services/portal/internal/clients"
)

// pageParams are the parameters of a list's address that say which of its pages it
// is (a service's cursor, carried as it was given): without them, the address is
// the list's first page, with its filters.
var pageParams = []string{"cursor", "history"}

// pageGone answers an address that names a page of a list which is not there: a
// cursor the portal or the service refuses (a stale bookmark, a link cut short when
// it was copied). It says so in words, not the service's, and links to the list's
// first page, its filters kept.
func (h *Handler) pageGone(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, p := range pageParams {
		q.Del(p)
	}
	first := r.URL.Path
	if len(q) > 0 {
		first += "?" + q.Encode()
	}
	h.show(w, r, http.StatusBadRequest, "message", "Page not found", nil, message{
		Message: "That page of the list does not exist: the address may be out of date, or cut short when it was copied.",
		Link:    first, LinkText: "Go to the first page"})
}

// pageRefused says p is a service's refusal of the page of a list that the request's
// address names (its cursor), rather than of anything else it was asked.
func pageRefused(r *http.Request, p *clients.Problem) bool {
	if p.Status != http.StatusBadRequest {
		return false
	}
	q := r.URL.Query()
	if !slices.ContainsFunc(pageParams, func(param string) bool { return q.Get(param) != "" }) {
		return false
	}
	return slices.ContainsFunc(p.Fields(), func(f clients.FieldError) bool { return f.Field == "cursor" })
}
