package signin

import "net/http"

// OpsPerson is a member of ITSS staff as their identity provider names them, once
// the OpenID Connect flow has checked they belong to the configured ops group.
type OpsPerson struct {
	Subject string
	Email   string
	Name    string
}

// OpsFlow is the ITSS staff sign-in through OpenID Connect (authorization code with
// PKCE). The portal routes /signin/ops to Start and /auth/callback to Finish; the
// flow itself lives in its own package and is plugged in at wiring. Start redirects
// to the provider, or returns why it could not; Finish checks the answer (state, PKCE
// verifier, ID token, group) and returns who signed in, or an error the portal shows
// as "sign-in failed". Either's *apperr.Error with the code Unavailable (the provider
// did not answer) is shown as such, with its Message, to be tried again.
type OpsFlow interface {
	Start(w http.ResponseWriter, r *http.Request) error
	Finish(w http.ResponseWriter, r *http.Request) (OpsPerson, error)
}
