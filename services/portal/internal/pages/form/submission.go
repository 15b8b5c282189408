package form

import (
	"fmt"
	"github.com/itss/techcommit/libs/httpserver"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Themes are the Commitment's four themes, in the order the editor shows them.
var Themes = []string{"visibility", "recognition", "career_development", "sustainability"}

// ThemeName is how a theme reads on a page and in a message.
func ThemeName(t string) string {
	switch t {
	case "visibility":
		return "Visibility"
	case "recognition":
		return "Recognition"
	case "career_development":
		return "Career development"
	case "sustainability":
		return "Sustainability"
	}
	return t
}

// Progress values an action item carried from the previous cycle may report, with
// how they read.
var Progress = []struct{ Value, Text string }{
	{"not_started", "Not started"},
	{"in_progress", "In progress"},
	{"done", "Done"},
	{"dropped", "Dropped"},
}

// ThemeAnswer is one theme of the self-assessment as typed: its narrative and its
// rating (0 when none is chosen yet).
type ThemeAnswer struct {
	Theme     string
	Narrative string
	Rating    int
}

// Submission is the editor's main form: the self-assessment, how technicians
// were consulted and the public webpage. The action plan has a form of its own.
type Submission struct {
	Themes       []ThemeAnswer
	HowConsulted string
	// Participants is kept as typed, so that a refused number is shown back as it was.
	Participants string
	Webpage      string
}

// ParticipantCount is the number of participants, 0 when none is given.
func (f Submission) ParticipantCount() int {
	n, _ := strconv.Atoi(f.Participants)
	return n
}

// ParseSubmission reads the main form. A draft may be incomplete (the review service
// keeps whatever is written so far and says what is still missing), so only what no
// draft may hold is refused here; the service has the last word.
func ParseSubmission(v url.Values) (Submission, Errors) {
	f := Submission{
		HowConsulted: text(v.Get("how_consulted")),
		Participants: strings.TrimSpace(v.Get("participants")),
		Webpage:      webAddress(v.Get("webpage")),
	}
	var errs Errors
	for _, t := range Themes {
		a := ThemeAnswer{Theme: t, Narrative: text(v.Get("narrative-" + t))}
		switch r := v.Get("rating-" + t); r {
		case "":
		case "1", "2", "3", "4":
			a.Rating = int(r[0] - '0')
		default:
			errs.add("rating-"+t, "Select a rating from 1 to 4 for "+ThemeName(t))
		}
		if utf8.RuneCountInString(a.Narrative) > 20000 {
			errs.add("narrative-"+t, ThemeName(t)+" narrative must be 20,000 characters or fewer")
		}
		f.Themes = append(f.Themes, a)
	}
	if utf8.RuneCountInString(f.HowConsulted) > 8000 {
		errs.add("how_consulted", "How technicians were consulted must be 8,000 characters or fewer")
	}
	if f.Participants != "" {
		if n, err := strconv.Atoi(f.Participants); err != nil || n < 0 || n > 1000000 {
			errs.add("participants", "Enter the number of technicians who took part as a whole number, like 120")
		}
	}
	if utf8.RuneCountInString(f.Webpage) > 2048 {
		errs.add("webpage", "Webpage address must be 2,048 characters or fewer")
	} else if err := httpserver.CheckWebAddress(f.Webpage); err != nil {
		// The service's own check, made here too: refused here for one field, the
		// form would be refused again for this one at the next save, a second round
		// of errors for what was wrong the first time.
		errs.add("webpage", "Webpage: "+err.Error())
	}
	return f, errs
}

// Item is one action of the action plan as typed.
type Item struct {
	Theme, Action, Owner, SuccessMeasure string
	// Day, Month and Year are the target date's parts as typed.
	Day, Month, Year string
	// Progress is empty for an action new in this plan.
	Progress string
}

// TargetDate is the item's target date as YYYY-MM-DD, once it parses.
func (f Item) TargetDate() string {
	d, m, y := atoi(f.Day), atoi(f.Month), atoi(f.Year)
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

// ItemOf is the form of an item the service holds.
func ItemOf(theme, action, owner, measure, progress string, target time.Time) Item {
	f := Item{Theme: theme, Action: action, Owner: owner, SuccessMeasure: measure, Progress: progress}
	if !target.IsZero() {
		f.Day, f.Month, f.Year = strconv.Itoa(target.Day()), strconv.Itoa(int(target.Month())), strconv.Itoa(target.Year())
	}
	return f
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// ParseItem reads an action plan item. Every part is needed (the service keeps
// only whole items), and the messages follow the GOV.UK patterns.
func ParseItem(v url.Values) (Item, Errors) {
	f := Item{
		Theme: v.Get("theme"), Action: text(v.Get("action")), Owner: strings.TrimSpace(v.Get("owner")),
		SuccessMeasure: text(v.Get("success_measure")),
		Day:            strings.TrimSpace(v.Get("target_day")), Month: strings.TrimSpace(v.Get("target_month")), Year: strings.TrimSpace(v.Get("target_year")),
		Progress: v.Get("progress"),
	}
	var errs Errors
	if !slices.Contains(Themes, f.Theme) {
		errs.add("theme", "Select the theme of the action")
		f.Theme = ""
	}
	switch n := utf8.RuneCountInString(f.Action); {
	case n == 0:
		errs.add("action", "Enter the action")
	case n > 4000:
		errs.add("action", "Action must be 4,000 characters or fewer")
	}
	switch n := utf8.RuneCountInString(f.Owner); {
	case n == 0:
		errs.add("owner", "Enter who owns the action")
	case n > 200:
		errs.add("owner", "Owner must be 200 characters or fewer")
	}
	switch n := utf8.RuneCountInString(f.SuccessMeasure); {
	case n == 0:
		errs.add("success_measure", "Enter how you will know the action has succeeded")
	case n > 4000:
		errs.add("success_measure", "Success measure must be 4,000 characters or fewer")
	}
	switch d, m, y := atoi(f.Day), atoi(f.Month), atoi(f.Year); {
	case f.Day == "" && f.Month == "" && f.Year == "":
		errs.add("target_date", "Enter the target date")
	case y < 2000 || y > 2100:
		errs.add("target_date", "Target date must be in a year from 2000 to 2100, like 31 7 2027")
	case d < 1 || m < 1 || m > 12 || d > time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day():
		errs.add("target_date", "Target date must be a real date, like 31 7 2027")
	}
	progress := []string{""}
	for _, p := range Progress {
		progress = append(progress, p.Value)
	}
	if !slices.Contains(progress, f.Progress) {
		errs.add("progress", "Select how far the action got, or that it is new")
		f.Progress = ""
	}
	return f, errs
}

// ParseProgress reads the progress reported on an item carried from the previous
// cycle, which must be one of Progress.
func ParseProgress(v url.Values) (string, Errors) {
	p := v.Get("progress")
	for _, o := range Progress {
		if o.Value == p {
			return p, nil
		}
	}
	var errs Errors
	errs.add("progress", "Select how far the action got")
	return "", errs
}

// webAddress is a web address as typed, without the white space around it and with
// its scheme and host in lower case (httpserver.NormaliseWebAddress, as the services
// keep it): both are read in either case (RFC 3986), and an address pasted from a
// document whose editor capitalised it ("Https://...") was refused as not starting
// https://, which a person could not see it did not.
func webAddress(s string) string { return httpserver.NormaliseWebAddress(strings.TrimSpace(s)) }
