package pages

import (
	"net/http"
	"net/url"
)

type applicationChoice struct {
	Orgs []applicationLink
}

type applicationLink struct{ Name, Path string }

// fundApplicationLink is where the fund's emails about an application link
// (/fund/applications/{id}), an address already in people's mailboxes. A lead's
// fund pages are their organisation's, so the link goes on to the application's
// page under the organisation the lead leads; that page asks the fund service,
// which shows a lead only their own organisation's applications. A lead of several
// organisations chooses which; anyone else finds nothing here.
func (h *Handler) fundApplicationLink(w http.ResponseWriter, r *http.Request) {
	v, _ := visitorFrom(r.Context())
	id := url.PathEscape(r.PathValue("application"))
	switch len(v.person.Leads) {
	case 0:
		h.notFound(w, r)
	case 1:
		http.Redirect(w, r, applicationPath(v.person.Leads[0].OrgID, id), http.StatusSeeOther)
	default:
		var data applicationChoice
		for _, l := range h.leadRows(r, v.person) {
			name := l.OrgName
			if name == "" {
				name = l.OrgID
			}
			if l.Withdrawn != "" {
				name += " (withdrew on " + l.Withdrawn + ")"
			}
			data.Orgs = append(data.Orgs, applicationLink{Name: name, Path: applicationPath(l.OrgID, id)})
		}
		h.show(w, r, http.StatusOK, "application_choice", "Which organisation's application?", nil, data)
	}
}

func applicationPath(org, id string) string {
	return "/organisations/" + url.PathEscape(org) + "/fund/" + id
}
