package pages

import (
	"net/http"
	"time"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/inwords"
	"github.com/itss/techcommit/services/portal/internal/apitokens"
	"github.com/itss/techcommit/services/portal/internal/reviewdrafts"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// The periods other services keep personal data for, which the privacy notice
// states and the portal is not configured with: each is the setting's value in
// deploy/k8s (the services' defaults), and TestThePrivacyNoticeStatesTheDeployedPeriods
// holds them to it. docs/PRIVACY.md, Retention, says why each is what it is.
const (
	// EmailBodyRetention is notify's NOTIFY_BODY_RETENTION: how long an email's text
	// is kept after it was sent.
	EmailBodyRetention = 2160 * time.Hour
	// EmailLogRetention is notify's NOTIFY_LOG_RETENTION: how long the log of emails
	// names whom each went to.
	EmailLogRetention = 17520 * time.Hour
	// StreamRetention is every service's NATS_STREAM_MAX_AGE: how long the messages
	// the services pass each other are kept.
	StreamRetention = 720 * time.Hour
	// IdempotencyRetention is the services' *_IDEMPOTENCY_TTL: how long the answer to
	// a request is kept to answer its retries.
	IdempotencyRetention = 24 * time.Hour
	// BackupRetention is how long a backup of the databases is kept (deploy/README.md,
	// "Backup and restore": the bucket's lifecycle rule).
	BackupRetention = 35 * 24 * time.Hour
)

// privacyData is what the privacy notice says that comes from the configuration or
// the code, each period in words.
type privacyData struct {
	Contact, DPO, Transfers                 string
	Link, Session, SessionMax, Draft, Token string
	StaffNames, EmailBody, EmailLog, Stream string
	Idempotency, Backup, Registers          string
}

// privacy is the privacy notice (UK GDPR Art. 13): who holds people's data and how
// to reach them, what is held about whom and why, who sees it, how long it is kept,
// people's rights and how to use them, and the right to complain to the ICO. Public:
// people read it before they sign in, and from the emails that link to it.
func (h *Handler) privacy(w http.ResponseWriter, r *http.Request) {
	h.show(w, r, http.StatusOK, "privacy", "Privacy notice", nil, privacyData{
		Contact: h.contact, DPO: h.dpo, Transfers: h.transfers,
		Link: inwords.Duration(signin.LinkLifetime), Session: inwords.Duration(h.sessions.Lifetime()), SessionMax: inwords.Duration(h.sessions.MaxLifetime()),
		Draft: inwords.Duration(reviewdrafts.KeepAfterSave), Token: inwords.Duration(apitokens.KeepAfterExpiry),
		StaffNames: inwords.Duration(h.staffNames), EmailBody: inwords.Duration(EmailBodyRetention), EmailLog: inwords.Duration(EmailLogRetention),
		Stream: inwords.Duration(StreamRetention), Idempotency: inwords.Duration(IdempotencyRetention), Backup: inwords.Duration(BackupRetention),
		// TC_NOTIFY_SENT and TC_PORTAL_REMOVED: a digest of an address, kept a day longer
		// than a backup so that a restore sends nothing twice and gives no removed
		// colleague their power back.
		Registers: inwords.Duration(max(events.NotifySentMaxAge, events.PortalRemovedMaxAge)),
	})
}
