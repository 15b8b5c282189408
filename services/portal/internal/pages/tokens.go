package pages

import (
	"errors"
	"github.com/google/uuid"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
	"github.com/itss/techcommit/services/portal/internal/pages/form"
	"github.com/itss/techcommit/services/portal/internal/signin"
	"github.com/itss/techcommit/services/portal/internal/templates"
)

type tokenRow struct {
	ID, Org, Name, CreatedBy, Created, Expires, Last4, State string
	Active                                                   bool
}

type tokensData struct {
	OrgID, OrgName string
	Tokens         []tokenRow
	Form           form.APIToken
	MaxDays        int
	// Lead says the visitor leads the organisation: they name the colleagues who
	// may make tokens too (Applicants), with the form Applicant.
	Lead       bool
	Applicants []signin.Applicant
	Applicant  form.Applicant
	// Made is the token just made, shown this once.
	Made       *tokenRow
	MadeSecret string
	// Key is the new-token form's own: the same form sent twice makes one token.
	Key string
	// Done says what the visitor has just done on the page (a token revoked, a
	// colleague added or removed), if anything.
	Done string
	// NoTokens says why the organisation's tools are offered no token, when they are
	// not (a supporter's: see noTokens): the page then offers no form to make one.
	NoTokens string
}

// noTokens says why org's lead is offered no API tokens, or "" when they are: a
// supporter's tools can use none, since the fund never takes an application from a
// supporter (offersTokens). Asked of the signatory service as the lead; for anyone
// else, or when it does not answer, "" (the fund refuses such a token all the same).
func (h *Handler) noTokens(r *http.Request, org string) string {
	v, _ := visitorFrom(r.Context())
	if _, lead := v.person.LeadOf(org); !lead {
		return ""
	}
	set, err := h.clients.For(v.person.AsLead(org))
	if err != nil {
		return ""
	}
	o, err := set.Signatory.GetOrganisationWithResponse(r.Context(), org)
	if err != nil || o.JSON200 == nil || offersTokens(o.JSON200.Kind) {
		return ""
	}
	return o.JSON200.Name + " is a supporter of the Technician Commitment: only signatories apply to the Collaboration Fund, so its tools have no use for an API token, and the fund would refuse one."
}

// tokenManager says whether the visitor may manage org's API tokens (its nominated
// lead, or a colleague the lead named), answering "page not found" otherwise, and
// returns who they are: their name as the records give it and whether they lead.
func (h *Handler) tokenManager(w http.ResponseWriter, r *http.Request) (org string, v *visitor, name string, lead bool) {
	v, _ = visitorFrom(r.Context())
	org = r.PathValue("org")
	if h.tokens != nil {
		if l, ok := v.person.LeadOf(org); ok {
			return org, v, l.Name, true
		}
		if a, ok := v.person.ApplicantOf(org); ok {
			return org, v, a.Name, false
		}
	}
	h.notFound(w, r)
	return "", nil, "", false
}

func (h *Handler) apiTokens(w http.ResponseWriter, r *http.Request) {
	org, v, _, _ := h.tokenManager(w, r)
	if v == nil {
		return
	}
	h.showTokens(w, r, http.StatusOK, org, form.APIToken{Days: "90"}, nil, nil, "")
}

// showTokens renders the organisation's tokens and the form to make one.
func (h *Handler) showTokens(w http.ResponseWriter, r *http.Request, status int, org string, f form.APIToken, errs []templates.FieldError, made *apitokens.Token, secret string) {
	list, err := h.tokens.List(r.Context(), org)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data := tokensData{OrgID: org, OrgName: h.orgName(r, org), Form: f, MaxDays: h.maxTokenDays(), Key: uuid.NewString(), NoTokens: h.noTokens(r, org)}
	if r.Method == http.MethodPost && status == http.StatusBadRequest {
		// Shown again to be corrected: sent again, it is still the one form.
		data.Key = opsFormKey(r)
	}
	v, _ := visitorFrom(r.Context())
	if _, lead := v.person.LeadOf(org); lead {
		data.Lead = true
		if data.Applicants, err = h.people.Applicants(r.Context(), org); err != nil {
			h.fail(w, r, err)
			return
		}
		if af, ok := h.applicantForm(r); ok {
			data.Applicant = af
		}
	}
	now := h.clock.Now()
	for _, t := range list {
		data.Tokens = append(data.Tokens, tokenRowOf(t, now))
	}
	if made != nil {
		row := tokenRowOf(*made, now)
		data.Made, data.MadeSecret = &row, secret
	}
	if r.Method == http.MethodGet {
		data.Done = tokensDone(r.URL.Query(), data.Tokens)
	}
	title := "API tokens"
	if made != nil {
		title = "Your new API token"
	}
	h.show(w, r, status, "tokens", title, errs, data)
}

func (h *Handler) maxTokenDays() int { return int(h.tokens.MaxLifetime() / (24 * time.Hour)) }

func tokenRowOf(t apitokens.Token, now time.Time) tokenRow {
	row := tokenRow{ID: t.ID, Org: t.Org, Name: t.Name, CreatedBy: t.CreatedBy, Created: longDate(t.Created.In(london)),
		Expires: longTime(t.Expires), Last4: t.Last4, Active: t.Active(now)}
	switch {
	case !t.Revoked.IsZero():
		// In use no longer: the day it would have expired is of no use to anyone.
		row.Expires = "Not in use: revoked"
		row.State = "Revoked " + longDate(t.Revoked.In(london))
		if t.RevokedBy != "" {
			row.State += " by " + t.RevokedBy
		}
	case !now.Before(t.Expires):
		row.State = "Expired"
	default:
		row.State = "In use"
	}
	return row
}

// apiTokenCreate makes a token and shows it, once: the page is not cached (every
// page is no-store) and the token is kept nowhere.
func (h *Handler) apiTokenCreate(w http.ResponseWriter, r *http.Request) {
	org, v, by, _ := h.tokenManager(w, r)
	if v == nil {
		return
	}
	if why := h.noTokens(r, org); why != "" {
		h.showTokens(w, r, http.StatusConflict, org, form.APIToken{Days: "90"}, []templates.FieldError{{Message: why}}, nil, "")
		return
	}
	f, errs := form.ParseAPIToken(r.PostForm, h.maxTokenDays())
	if len(errs) > 0 {
		h.showTokens(w, r, http.StatusBadRequest, org, f, errs, nil, "")
		return
	}
	// The change of lead the maker's power comes from: a later one revokes the token,
	// even one the portal hears of only after the token is made.
	since, err := h.people.LeadSince(r.Context(), org)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The token names the person who makes it, by the name the records give them and
	// the address they signed in with: the fund takes its applicant from the token,
	// and writes to that person about every application the token drafts.
	made, secret, err := h.tokens.Issue(r.Context(), apitokens.Request{Org: org, Name: f.Name, Lifetime: time.Duration(f.DaysN) * 24 * time.Hour,
		By: by, Email: v.person.Email, Creator: v.person.Pseudonym, Key: opsFormKey(r), LeadSince: since})
	if errors.Is(err, apitokens.ErrMadeAlready) {
		// A second press of the button: the first made the token, and its answer,
		// the one page that showed the secret, is the page the browser dropped.
		h.showTokens(w, r, http.StatusConflict, org, form.APIToken{Days: f.Days}, []templates.FieldError{{Message: "This form was sent twice: the first send made the token \"" + f.Name + "\", and its page, which showed the token once, was replaced by this one. If you did not copy the token, revoke it below and make another."}}, nil, "")
		return
	}
	if err != nil {
		h.tokenProblem(w, r, org, f, err)
		return
	}
	if !h.stillMaker(w, r, org, v.person.Email, made.ID) {
		return
	}
	h.showTokens(w, r, http.StatusCreated, org, form.APIToken{Days: f.Days}, nil, &made, secret)
}

// stillMaker reads the person again once their token is made, and reports whether
// they still hold the power to make it. An erasure landing as the token was made
// forgets the person's records, then their tokens' makers: a token whose maker was
// recorded after that read would stay in force naming them, and the fund would take
// what it drafts as theirs. Such a token, or one whose maker lost the role meanwhile
// or could not be read again, is revoked before anyone sees it (apitokens.Store.Unmake),
// and the person is answered as their next request would be.
func (h *Handler) stillMaker(w http.ResponseWriter, r *http.Request, org, email, id string) bool {
	ctx := r.Context()
	again, err := h.people.Lookup(ctx, email)
	if err == nil {
		if _, ok := again.LeadOf(org); ok {
			return true
		}
		if _, ok := again.ApplicantOf(org); ok {
			return true
		}
	}
	held, herr := h.people.Held(ctx, email)
	if uerr := h.tokens.Unmake(ctx, org, id, herr == nil && !held); uerr != nil {
		h.fail(w, r, errors.Join(err, herr, uerr))
		return false
	}
	if err != nil || herr != nil {
		h.fail(w, r, apperr.Wrap(apperr.Unavailable, errors.Join(err, herr), "the token could not be made just now; try again"))
		return false
	}
	h.notFound(w, r)
	return false
}

// tokenProblem shows what stopped a token being made: a field's problem beside it,
// too many tokens at the top, anything else as a failure.
func (h *Handler) tokenProblem(w http.ResponseWriter, r *http.Request, org string, f form.APIToken, err error) {
	ae, ok := apperr.As(err)
	switch {
	case ok && ae.Code == apperr.Invalid:
		h.showTokens(w, r, http.StatusBadRequest, org, f, []templates.FieldError{{Field: ae.Field, Message: ae.Message}}, nil, "")
	case ok && (ae.Code == apperr.Conflict || ae.Code == apperr.Unavailable):
		status := http.StatusConflict
		if ae.Code == apperr.Unavailable {
			status = http.StatusServiceUnavailable
		}
		h.showTokens(w, r, status, org, f, []templates.FieldError{{Message: ae.Message}}, nil, "")
	default:
		h.fail(w, r, err)
	}
}

func (h *Handler) apiTokenRevoke(w http.ResponseWriter, r *http.Request) {
	org, v, by, _ := h.tokenManager(w, r)
	if v == nil {
		return
	}
	if _, err := h.tokens.Revoke(r.Context(), org, r.PathValue("token"), apitokens.Revoker{Name: by, ID: v.person.Pseudonym}); err != nil {
		h.revokeProblem(w, r, err)
		return
	}
	http.Redirect(w, r, "/organisations/"+org+"/tokens?"+url.Values{"done": {"revoked"}, "token": {r.PathValue("token")}}.Encode(), http.StatusSeeOther)
}

func (h *Handler) revokeProblem(w http.ResponseWriter, r *http.Request, err error) {
	switch apperr.CodeOf(err) {
	case apperr.NotFound:
		h.notFound(w, r)
	case apperr.Unavailable:
		ae, _ := apperr.As(err)
		h.say(w, r, http.StatusServiceUnavailable, "The token is not revoked everywhere yet", ae.Message)
	default:
		h.fail(w, r, err)
	}
}

type opsTokensData struct {
	Tokens []tokenRow
	// Done says which token was just revoked, if one was.
	Done string
}

// tokensDone is what a token page says of what was just done on it, as its address
// names it: the page reloads at its top, and the button pressed has gone.
func tokensDone(q url.Values, rows []tokenRow) string {
	switch q.Get("done") {
	case "revoked":
		for _, t := range rows {
			if t.ID == q.Get("token") {
				return "The token \u201c" + t.Name + "\u201d was revoked: it no longer works."
			}
		}
		return "The token was revoked: it no longer works."
	case "added":
		return "Your colleague was added: they can sign in to make and revoke your organisation's API tokens."
	case "removed":
		said := "Your colleague was removed: they can no longer sign in to make your organisation's API tokens"
		switch n, _ := strconv.Atoi(q.Get("revoked")); {
		case n == 1:
			said += ", and the token they made was revoked"
		case n > 1:
			said += ", and the " + strconv.Itoa(n) + " tokens they made were revoked"
		}
		return said + "."
	}
	return ""
}

// tokenOps checks the visitor is ITSS staff; anyone else gets "page not found".
func (h *Handler) tokenOps(w http.ResponseWriter, r *http.Request) (*visitor, bool) {
	v, _ := visitorFrom(r.Context())
	if h.tokens == nil || !v.session.Ops {
		h.notFound(w, r)
		return nil, false
	}
	return v, true
}

// opsAPITokens lists every organisation's tokens, for ITSS staff to revoke any.
func (h *Handler) opsAPITokens(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	if _, ok := h.tokenOps(w, r); !ok {
		return
	}
	list, err := h.tokens.List(r.Context(), "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var data opsTokensData
	now := h.clock.Now()
	for _, t := range list {
		data.Tokens = append(data.Tokens, tokenRowOf(t, now))
	}
	// The tokens name their organisation by id: the page shows its name, as the
	// console's other pages do (an id the signatory service did not answer for stays).
	names := opsNamesOf(r.Context(), h, c.set, list, func(t apitokens.Token) string { return t.Org })
	for i := range data.Tokens {
		data.Tokens[i].Org = opsOrgLabel(names, list[i].Org)
	}
	data.Done = tokensDone(r.URL.Query(), data.Tokens)
	h.show(w, r, http.StatusOK, "ops_tokens", "API tokens of every organisation", nil, data)
}

func (h *Handler) opsAPITokenRevoke(w http.ResponseWriter, r *http.Request) {
	v, ok := h.tokenOps(w, r)
	if !ok {
		return
	}
	by := v.session.Name
	if by == "" {
		by = "ITSS"
	}
	if _, err := h.tokens.Revoke(r.Context(), "", r.PathValue("token"), apitokens.Revoker{Name: by + " (ITSS)", ID: v.session.Subject, ITSS: true}); err != nil {
		h.revokeProblem(w, r, err)
		return
	}
	http.Redirect(w, r, "/ops/api-tokens?"+url.Values{"done": {"revoked"}, "token": {r.PathValue("token")}}.Encode(), http.StatusSeeOther)
}

// applicantForm is the colleague form as posted, to show again beside its errors.
func (h *Handler) applicantForm(r *http.Request) (form.Applicant, bool) {
	if r.Method != http.MethodPost || r.PostForm.Get("applicant_email") == "" && r.PostForm.Get("applicant_name") == "" {
		return form.Applicant{}, false
	}
	f, _ := form.ParseApplicant(r.PostForm)
	return f, true
}

// applicantAdd is the lead naming a colleague who may make and revoke the
// organisation's API tokens; the colleague signs in with a link like the lead.
func (h *Handler) applicantAdd(w http.ResponseWriter, r *http.Request) {
	org, v, _, lead := h.tokenManager(w, r)
	if v == nil {
		return
	}
	if !lead {
		h.notFound(w, r)
		return
	}
	if why := h.noTokens(r, org); why != "" {
		h.showTokens(w, r, http.StatusConflict, org, form.APIToken{Days: "90"}, []templates.FieldError{{Message: why}}, nil, "")
		return
	}
	f, errs := form.ParseApplicant(r.PostForm)
	if len(errs) == 0 && signin.NormaliseEmail(f.Email) == signin.NormaliseEmail(v.person.Email) {
		// A lead makes tokens as the lead; named as a colleague too, they would keep
		// the power after handing the role on, which is meant to end it.
		errs = append(errs, templates.FieldError{Field: "applicant_email", Message: "This is your own address: as the nominated lead you make the organisation's tokens already. Name a colleague"})
	}
	if len(errs) > 0 {
		h.showTokens(w, r, http.StatusBadRequest, org, form.APIToken{Days: "90"}, errs, nil, "")
		return
	}
	l, _ := v.person.LeadOf(org)
	if err := h.people.AddApplicantAsLead(r.Context(), signin.Applicant{OrgID: org, OrgName: l.OrgName, Name: f.Name, Email: f.Email},
		v.person.Email, h.clock.Now()); errors.Is(err, signin.ErrNotTheLead) {
		h.notFound(w, r) // handed on as the form was sent: as for any page of a lead replaced
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/organisations/"+org+"/tokens?done=added", http.StatusSeeOther)
}

// applicantRemove takes a colleague's access away at once (the address is in the
// form's body, not the path, so that it stays out of the access log).
func (h *Handler) applicantRemove(w http.ResponseWriter, r *http.Request) {
	org, v, _, lead := h.tokenManager(w, r)
	if v == nil {
		return
	}
	if !lead {
		h.notFound(w, r)
		return
	}
	if err := h.people.RemoveApplicant(r.Context(), org, r.PostForm.Get("email")); err != nil {
		h.fail(w, r, err)
		return
	}
	// The tokens the colleague made carry their name and address, to which the fund
	// writes about what they draft: they stop with the colleague's power.
	makers, leadName, err := h.people.TokenMakers(r.Context(), org)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	n, err := h.tokens.RevokeUnlent(r.Context(), org, makers, leadName, nil, time.Time{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/organisations/"+org+"/tokens?"+url.Values{"done": {"removed"}, "revoked": {strconv.Itoa(n)}}.Encode(), http.StatusSeeOther)
}
