// Package submission is an institution's submission for one obligation: its
// self-assessment per theme, its action plan, the evidence that technicians shaped it,
// and the public page where it is published.
package submission

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
)

// AggregateType names submissions in the event store.
const AggregateType = "submission"

// Themes are the Commitment's four themes.
var Themes = []string{"visibility", "recognition", "career_development", "sustainability"}

// Status of a submission.
type Status string

// Statuses.
const (
	StatusNone      Status = ""
	StatusDraft     Status = "draft"
	StatusSubmitted Status = "submitted"
)

// Submission is the aggregate.
type Submission struct {
	id          string
	version     int
	org         string
	obligation  string
	kind        string
	cycle       int
	content     events.SubmissionContent
	status      Status
	submittedAt time.Time
	createdAt   time.Time
}

// Rebuild replays history.
func Rebuild(id string, history []events.Envelope) (*Submission, error) {
	s := &Submission{id: id}
	for _, e := range history {
		switch e.Type {
		case events.SubmissionDraftedV1{}.EventType():
			var p events.SubmissionDraftedV1
			if err := json.Unmarshal(e.Data, &p); err != nil {
				return nil, fmt.Errorf("decode %s: %w", e.ID, err)
			}
			s.org, s.obligation, s.kind, s.cycle, s.content, s.status, s.createdAt = p.OrganisationID, p.ObligationID, p.Kind, p.Cycle, p.Content, StatusDraft, e.Time
		case events.SubmissionUpdatedV1{}.EventType():
			var p events.SubmissionUpdatedV1
			if err := json.Unmarshal(e.Data, &p); err != nil {
				return nil, fmt.Errorf("decode %s: %w", e.ID, err)
			}
			s.content = p.Content
		case events.SubmissionReceivedV1{}.EventType():
			var p events.SubmissionReceivedV1
			if err := json.Unmarshal(e.Data, &p); err != nil {
				return nil, fmt.Errorf("decode %s: %w", e.ID, err)
			}
			s.status, s.submittedAt = StatusSubmitted, p.ReceivedAt
		default:
			return nil, fmt.Errorf("submission %s: unknown event %s", id, e.Type)
		}
		s.version = e.Version
	}
	return s, nil
}

// ID is the submission's id.
func (s *Submission) ID() string { return s.id }

// Cycle is the obligation's cycle (1 for the first), or 0 when not known.
func (s *Submission) Cycle() int { return s.cycle }

// The accessors below read the state as replayed.

func (s *Submission) Version() int                      { return s.version }
func (s *Submission) Exists() bool                      { return s.status != StatusNone }
func (s *Submission) OrganisationID() string            { return s.org }
func (s *Submission) ObligationID() string              { return s.obligation }
func (s *Submission) Kind() string                      { return s.kind }
func (s *Submission) Content() events.SubmissionContent { return s.content }
func (s *Submission) Status() Status                    { return s.status }
func (s *Submission) SubmittedAt() time.Time            { return s.submittedAt }
func (s *Submission) CreatedAt() time.Time              { return s.createdAt }

// Missing is what the draft still needs before it can be submitted (see Missing),
// none once it is submitted.
func (s *Submission) Missing() []Gap {
	if s.status != StatusDraft {
		return nil
	}
	return Missing(s.kind, s.content)
}

// WeakestThemes are the themes the institution rated itself lowest on in its
// self-assessment (all of them when tied), in the order of Themes: where a reviewer's
// expertise helps it most. None when it rated no theme (an action plan on its own).
func (s *Submission) WeakestThemes() []string {
	lowest := 0
	for _, a := range s.content.SelfAssessment {
		if slices.Contains(Themes, a.Theme) && a.Rating >= 1 && (lowest == 0 || a.Rating < lowest) {
			lowest = a.Rating
		}
	}
	var out []string
	for _, t := range Themes {
		if lowest > 0 && slices.ContainsFunc(s.content.SelfAssessment, func(a events.ThemeAssessment) bool { return a.Theme == t && a.Rating == lowest }) {
			out = append(out, t)
		}
	}
	return out
}

// Draft starts a submission for an organisation's open obligation. A draft may be
// incomplete; it is checked in full when submitted.
func (s *Submission) Draft(org, obligation, kind string, cycle int, c events.SubmissionContent) ([]events.Payload, error) {
	if s.Exists() {
		return nil, apperr.New(apperr.Conflict, "submission %s exists", s.id)
	}
	if err := CheckShape(c); err != nil {
		return nil, err
	}
	if kind != events.ObligationSelfAssessmentAndActionPlan && kind != events.ObligationActionPlan {
		return nil, apperr.New(apperr.Conflict, "the obligation's kind %q is not one a submission answers", kind)
	}
	if err := answers(kind, c); err != nil {
		return nil, err
	}
	return []events.Payload{events.SubmissionDraftedV1{SubmissionID: s.id, OrganisationID: org, ObligationID: obligation, Kind: kind, Cycle: cycle, Content: c}}, nil
}

// Update replaces a draft's content.
func (s *Submission) Update(c events.SubmissionContent) ([]events.Payload, error) {
	if err := s.require(StatusDraft, "update"); err != nil {
		return nil, err
	}
	if err := CheckShape(c); err != nil {
		return nil, err
	}
	if err := answers(s.kind, c); err != nil {
		return nil, err
	}
	return []events.Payload{events.SubmissionUpdatedV1{SubmissionID: s.id, Content: c}}, nil
}

// Submit checks the draft is complete and records its receipt.
func (s *Submission) Submit(now time.Time) ([]events.Payload, error) {
	if err := s.require(StatusDraft, "submit"); err != nil {
		return nil, err
	}
	if err := Complete(s.kind, s.content); err != nil {
		return nil, err
	}
	return []events.Payload{events.SubmissionReceivedV1{SubmissionID: s.id, OrganisationID: s.org, ObligationID: s.obligation, Kind: s.kind, ReceivedAt: now.UTC(), Cycle: s.cycle}}, nil
}

// answers refuses content that the obligation does not ask for: a supporter owes an
// action plan only, and a self-assessment sent with it would be kept, shown to its
// reviewers and read for their expertise (WeakestThemes) as if it were owed. A draft
// kept before this was refused still submits; a change to it drops the self-assessment.
func answers(kind string, c events.SubmissionContent) error {
	if kind == events.ObligationActionPlan && len(c.SelfAssessment) > 0 {
		return apperr.Field("self_assessment", "must be empty: this obligation is for an action plan only (a supporter's), with no self-assessment")
	}
	return nil
}

func (s *Submission) require(st Status, action string) error {
	if s.status == StatusNone {
		return apperr.New(apperr.NotFound, "submission %s not found", s.id)
	}
	if s.status != st {
		return apperr.New(apperr.Conflict, "cannot %s a submission that is %s", action, s.status)
	}
	return nil
}

// CheckShape refuses values no draft may hold.
func CheckShape(c events.SubmissionContent) error {
	for i, a := range c.SelfAssessment {
		if !slices.Contains(Themes, a.Theme) {
			return apperr.Field(fmt.Sprintf("self_assessment.%d.theme", i), "%q is not a Commitment theme", a.Theme)
		}
		// A theme twice could be kept, and the theme still missing could then never
		// be added: the list holds as many entries as there are themes.
		if j := slices.IndexFunc(c.SelfAssessment, func(b events.ThemeAssessment) bool { return b.Theme == a.Theme }); j < i {
			return apperr.Field(fmt.Sprintf("self_assessment.%d.theme", i), "%s is given already (self_assessment.%d): give each theme once", ThemeName(a.Theme), j)
		}
		if a.Rating < 0 || a.Rating > 4 {
			return apperr.Field(fmt.Sprintf("self_assessment.%d.rating", i), "must be 1 to 4")
		}
	}
	for i, it := range c.ActionPlan {
		if it.Theme != "" && !slices.Contains(Themes, it.Theme) {
			return apperr.Field(fmt.Sprintf("action_plan.%d.theme", i), "%q is not a Commitment theme", it.Theme)
		}
		if it.TargetDate != "" {
			if _, err := civil.Parse(it.TargetDate); err != nil {
				return apperr.Field(fmt.Sprintf("action_plan.%d.target_date", i), "must be a date YYYY-MM-DD")
			}
		}
	}
	if c.TechnicianVoice.Participants < 0 {
		return apperr.Field("technician_voice.participants", "must not be negative")
	}
	if c.Webpage != "" && !webAddress(c.Webpage) {
		return apperr.Field("webpage", "must be an http or https address, without control, direction-changing or zero-width characters")
	}
	return nil
}

func webAddress(s string) bool {
	u, err := url.Parse(s)
	// A character not shown as itself (a control, a direction override, a zero-width
	// one) would make the address read as another.
	hidden := strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) })
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && !hidden
}

// Gap is something a draft still needs before it can be submitted: the field it is
// about, as a dotted path into the content, and what to give, in words.
//
// A theme of the self-assessment is named by the theme (self_assessment.visibility.
// narrative), not by its place in the list: a draft may not list the theme at all yet,
// and the name stays right however the list is ordered.
type Gap struct {
	Field, Message string
}

// Missing lists everything a draft still needs before it can be submitted, in the
// order the Commitment asks for it, empty when it is complete: a signatory's
// self-assessment (a narrative and a rating on every theme), an action plan whose
// items are whole, evidence of the technician voice, and the public webpage. It is
// the one statement of what a complete submission is: Submit refuses by it, and every
// answer about a draft shows it, so that an editor need not repeat it.
func Missing(kind string, c events.SubmissionContent) []Gap {
	var gaps []Gap
	if kind != events.ObligationActionPlan {
		for _, t := range Themes {
			var a events.ThemeAssessment
			if i := slices.IndexFunc(c.SelfAssessment, func(a events.ThemeAssessment) bool { return a.Theme == t }); i >= 0 {
				a = c.SelfAssessment[i]
			}
			if strings.TrimSpace(a.Narrative) == "" {
				gaps = append(gaps, Gap{"self_assessment." + t + ".narrative", "write the narrative for " + ThemeName(t)})
			}
			if a.Rating < 1 {
				gaps = append(gaps, Gap{"self_assessment." + t + ".rating", "give a rating from 1 to 4 for " + ThemeName(t)})
			}
		}
	}
	if len(c.ActionPlan) == 0 {
		gaps = append(gaps, Gap{"action_plan", "add at least one action to the action plan"})
	}
	for i, it := range c.ActionPlan {
		for _, f := range []struct{ name, value, what string }{
			{"theme", it.Theme, "its theme"}, {"action", it.Action, "the action"}, {"owner", it.Owner, "who owns it"},
			{"success_measure", it.SuccessMeasure, "how success is measured"}, {"target_date", it.TargetDate, "its target date"},
		} {
			if strings.TrimSpace(f.value) == "" {
				gaps = append(gaps, Gap{fmt.Sprintf("action_plan.%d.%s", i, f.name), fmt.Sprintf("give action %d %s", i+1, f.what)})
			}
		}
	}
	if strings.TrimSpace(c.TechnicianVoice.HowConsulted) == "" {
		gaps = append(gaps, Gap{"technician_voice.how_consulted", "say how technicians were consulted"})
	}
	if c.TechnicianVoice.Participants < 1 {
		gaps = append(gaps, Gap{"technician_voice.participants", "say how many technicians took part"})
	}
	if !webAddress(c.Webpage) {
		gaps = append(gaps, Gap{"webpage", "give the public page where the plan is published"})
	}
	return gaps
}

// Complete refuses a submission that lacks anything Missing names, listing all of it
// at once. It is the draft's state, not the request to submit it, that is wanting, so
// the refusal is a conflict: the draft must change before submitting can succeed.
func Complete(kind string, c events.SubmissionContent) error {
	if err := CheckShape(c); err != nil {
		return err
	}
	gaps := Missing(kind, c)
	if len(gaps) == 0 {
		return nil
	}
	e := apperr.New(apperr.Conflict, "the draft cannot be submitted until everything missing from it is given (%d, each in errors)", len(gaps))
	e.Field = gaps[0].Field
	for _, g := range gaps {
		e.Fields = append(e.Fields, apperr.FieldProblem{Field: g.Field, Message: g.Message})
	}
	return e
}

// ThemeName is how a theme reads in a message: Visibility, Career development.
func ThemeName(t string) string {
	return strings.ToUpper(t[:1]) + strings.ReplaceAll(t[1:], "_", " ")
}
