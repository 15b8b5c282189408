package pages

import (
	"net/http"

	"github.com/itss/techcommit/services/portal/internal/apitokens"
)

// tokenRevokeData is the page that asks before an API token is revoked: revoking
// stops the organisation's tool within seconds and cannot be undone, so the row's
// Revoke leads here rather than revoking at once.
type tokenRevokeData struct {
	tokenRow
	// Action revokes the token (POST); Back is the list, where Cancel leads.
	Action, Back string
	// Ops shows the console's navigation.
	Ops bool
}

// opsAPITokenRevokeConfirm asks ITSS staff to confirm revoking any organisation's
// token.
func (h *Handler) opsAPITokenRevokeConfirm(w http.ResponseWriter, r *http.Request, c *opsCtx) {
	if _, ok := h.tokenOps(w, r); !ok {
		return
	}
	id := r.PathValue("token")
	name := func(org string) string { return opsOrgLabel(h.opsNames(r.Context(), c.set, org), org) }
	h.showTokenRevoke(w, r, "", id, name, tokenRevokeData{Action: "/ops/api-tokens/" + id + "/revoke", Back: "/ops/api-tokens", Ops: true})
}

// apiTokenRevokeConfirm asks the lead (or a colleague they named) to confirm
// revoking one of the organisation's tokens.
func (h *Handler) apiTokenRevokeConfirm(w http.ResponseWriter, r *http.Request) {
	org, v, _, _ := h.tokenManager(w, r)
	if v == nil {
		return
	}
	id := r.PathValue("token")
	h.showTokenRevoke(w, r, org, id, func(org string) string { return h.orgName(r, org) }, tokenRevokeData{Action: "/organisations/" + org + "/tokens/" + id + "/revoke", Back: "/organisations/" + org + "/tokens"})
}

// showTokenRevoke shows the confirmation for the token id of org (any organisation
// when org is empty), naming its organisation with name. A token no longer in use has nothing to confirm: the list,
// which says how it ended, is shown instead.
func (h *Handler) showTokenRevoke(w http.ResponseWriter, r *http.Request, org, id string, name func(string) string, d tokenRevokeData) {
	list, err := h.tokens.List(r.Context(), org)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var tok *apitokens.Token
	for i := range list {
		if list[i].ID == id {
			tok = &list[i]
		}
	}
	if tok == nil {
		h.notFound(w, r)
		return
	}
	d.tokenRow = tokenRowOf(*tok, h.clock.Now())
	if !d.Active {
		http.Redirect(w, r, d.Back, http.StatusSeeOther)
		return
	}
	d.Org = name(tok.Org)
	h.show(w, r, http.StatusOK, "token_revoke", "Revoke the API token", nil, d)
}
