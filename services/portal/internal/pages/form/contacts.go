package form

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/itss/techcommit/libs/httpserver"
)

// Contact is one of an organisation's contacts as typed.
type Contact struct {
	Name, Title, Email string
}

// Contacts are an organisation's contacts: its leader (who signed the form), its
// nominated lead, and its public point of contact; and where its plan is published.
// The field names are the signatory service's, so that its field errors land on
// them as they are.
type Contacts struct {
	Leader, Lead, Point Contact
	PlanPage            string
}

// ContactRoles are the three contacts' field prefixes, with how they read.
var ContactRoles = []struct{ Field, Name string }{
	{"leader", "Head of the organisation"},
	{"nominated_lead", "Nominated lead"},
	{"point_of_contact", "Public point of contact"},
}

func readContact(v url.Values, prefix string) Contact {
	return Contact{Name: strings.TrimSpace(v.Get(prefix + ".name")), Title: strings.TrimSpace(v.Get(prefix + ".title")),
		Email: strings.TrimSpace(v.Get(prefix + ".email"))}
}

// ParseContacts reads the contacts form. A name is needed for each; an email for
// the leader and the nominated lead (the public point of contact may be a name or
// office alone). Each field is held to the signatory service's own rule for it (a
// name or title is one clean line, an address one it can send to, the plan page a
// web address), so that every problem is told on the first save, and none only
// once a hand-over has been confirmed.
func ParseContacts(v url.Values) (Contacts, Errors) {
	f := Contacts{Leader: readContact(v, "leader"), Lead: readContact(v, "nominated_lead"), Point: readContact(v, "point_of_contact"),
		PlanPage: webAddress(v.Get("plan_page"))}
	var errs Errors
	for i, c := range []Contact{f.Leader, f.Lead, f.Point} {
		role := ContactRoles[i]
		switch n := utf8.RuneCountInString(c.Name); {
		case n == 0:
			errs.add(role.Field+".name", "Enter the name of the "+strings.ToLower(role.Name))
		case n > 200:
			errs.add(role.Field+".name", role.Name+": name must be 200 characters or fewer")
		default:
			if err := httpserver.CheckLine(c.Name); err != nil {
				errs.add(role.Field+".name", role.Name+": name "+err.Error())
			}
		}
		switch {
		case utf8.RuneCountInString(c.Title) > 200:
			errs.add(role.Field+".title", role.Name+": job title must be 200 characters or fewer")
		case c.Title != "":
			if err := httpserver.CheckLine(c.Title); err != nil {
				errs.add(role.Field+".title", role.Name+": job title "+err.Error())
			}
		}
		switch {
		case c.Email == "" && i < 2:
			errs.add(role.Field+".email", "Enter the email address of the "+strings.ToLower(role.Name))
		case c.Email != "":
			if _, e := ParseSignin(url.Values{"email": {c.Email}}); len(e) > 0 || httpserver.CheckEmail(c.Email) != nil {
				errs.add(role.Field+".email", role.Name+": enter an email address in the correct format, like name@example.ac.uk")
			}
		}
	}
	switch {
	case utf8.RuneCountInString(f.PlanPage) > 2048:
		errs.add("plan_page", "Plan page address must be 2,048 characters or fewer")
	case f.PlanPage != "":
		if err := httpserver.CheckWebAddress(f.PlanPage); err != nil {
			errs.add("plan_page", "Plan page "+err.Error())
		}
	}
	return f, errs
}
