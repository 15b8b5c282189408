package pages

import (
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// An action's outcome (what an automatic assignment made, whom an erasure left
// without a nominated lead) is shown on the page the action redirects to, so that
// reloading that page, or going Back to it, offers to send nothing again
// (post/redirect/get). The outcome travels to that page in a cookie: sealed with
// the portal's outcome key, which every replica shares (AES-GCM, so that nobody can
// make a page show an outcome that was not), held only by the browser that made the
// action, for that page's path, for outcomeFor, and bound to the person signed in
// and to the id the redirect's address carries. Nothing is stored on the server,
// and nothing of the outcome is in the address, the access log or the history.

// outcomeFor is how long a page shows its action's outcome after the action.
const outcomeFor = 10 * time.Minute

// outcomeMax bounds a sealed outcome: a browser keeps a cookie of up to 4096 bytes,
// its name and attributes included. One larger is not kept (see keepOutcome).
const outcomeMax = 3800

// outcomeCookie names the cookie; its path says which page it is for.
const outcomeCookie = "tc_outcome"

// outcomeCookieName is __Secure- prefixed when cookies are Secure (its path is the
// page's, so it cannot be __Host-): a browser takes a cookie of that name only from
// an https page.
func (h *Handler) outcomeCookieName() string {
	if h.secureCookies {
		return "__Secure-" + outcomeCookie
	}
	return outcomeCookie
}

type sealedOutcome struct {
	ID      string          `json:"i"`
	Who     string          `json:"w"`
	Expires time.Time       `json:"e"`
	Data    json.RawMessage `json:"d"`
}

// newOutcomeSealer is the AEAD that seals outcomes with key (32 bytes).
func newOutcomeSealer(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("outcome key: %w", err)
	}
	return cipher.NewGCM(block)
}

// outcomeWho is the person an outcome is for: the one signed in.
func outcomeWho(r *http.Request) string {
	v, ok := visitorFrom(r.Context())
	if !ok {
		return ""
	}
	return v.session.Subject + "\x00" + v.session.Email
}

// keepOutcome gives the browser v as the outcome of its action, for the page at
// path to show while its address names id, and says whether it could: an outcome
// too large for a cookie is not kept, and the caller shows it at once instead.
func (h *Handler) keepOutcome(w http.ResponseWriter, r *http.Request, path, id string, v any) bool {
	data, err := json.Marshal(v)
	if err != nil {
		h.logger.WarnContext(r.Context(), "keep an outcome", "route", r.Pattern, "error", err)
		return false
	}
	plain, err := json.Marshal(sealedOutcome{ID: id, Who: outcomeWho(r), Expires: h.clock.Now().Add(outcomeFor), Data: data})
	if err != nil {
		h.logger.WarnContext(r.Context(), "keep an outcome", "route", r.Pattern, "error", err)
		return false
	}
	// Compressed: an assignment's report repeats its reasons, one a submission.
	var packed bytes.Buffer
	zw, _ := flate.NewWriter(&packed, flate.BestCompression) // a valid level cannot fail
	_, _ = zw.Write(plain)                                   // a bytes.Buffer cannot fail
	_ = zw.Close()
	nonce := make([]byte, h.outcomes.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	sealed := base64.RawURLEncoding.EncodeToString(h.outcomes.Seal(nonce, nonce, packed.Bytes(), []byte(path)))
	if len(sealed) > outcomeMax {
		return false
	}
	// #nosec G124 -- h.cookie sets HttpOnly, SameSite and Secure (false only with PORTAL_INSECURE_COOKIES, a local stack on plain http on this machine); only its path is narrowed here
	c := h.cookie(h.outcomeCookieName(), sealed, int(outcomeFor.Seconds()))
	c.Path = path
	http.SetCookie(w, c)
	return true
}

// outcome reads into v the outcome id that the browser holds for the page r asks
// for, and says whether it holds one: its own, for this page, and not expired.
func (h *Handler) outcome(r *http.Request, id string, v any) bool {
	if id == "" {
		return false
	}
	for _, c := range r.CookiesNamed(h.outcomeCookieName()) {
		sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
		n := h.outcomes.NonceSize()
		if err != nil || len(sealed) < n {
			continue
		}
		packed, err := h.outcomes.Open(nil, sealed[:n], sealed[n:], []byte(r.URL.Path))
		if err != nil {
			continue // another page's, or not the portal's
		}
		plain, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(packed)), 1<<20))
		if err != nil {
			continue
		}
		var o sealedOutcome
		if json.Unmarshal(plain, &o) != nil || o.ID != id || o.Who != outcomeWho(r) || !h.clock.Now().Before(o.Expires) {
			continue
		}
		return json.Unmarshal(o.Data, v) == nil
	}
	return false
}
