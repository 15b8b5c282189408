package main

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/itss/techcommit/libs/oidcdev"
)

// oidcPort is where the local OpenID provider ITSS staff sign in with listens, at
// port offset 0.
const oidcPort = 8078

// oidcSecretsFile holds, in the data directory, the ops user's password and the
// portal's client secret, made on the first run.
const oidcSecretsFile = "oidc-dev.json" // #nosec G101 -- a file name; the secrets are made per data directory

// localOIDC is the running provider and what the portal and the banner need of it.
type localOIDC struct {
	issuer      string
	redirectURL string
	secrets     oidcdev.Local
	stop        func()
}

// startOIDC serves the local OpenID provider in this process, with the one ops user
// and the portal as its one client. Unlike the token issuer's, its issuer name moves
// with the port offset: the portal discovers the provider at that very address.
func startOIDC(dataDir string, offset int) (localOIDC, error) {
	secrets, err := oidcdev.LoadOrCreateLocal(filepath.Join(dataDir, oidcSecretsFile))
	if err != nil {
		return localOIDC{}, fmt.Errorf("OpenID provider secrets: %w", err)
	}
	o := localOIDC{
		issuer:      "http://" + addr(oidcPort, offset),
		redirectURL: "http://" + addr(portalPort, offset) + "/auth/callback",
		secrets:     secrets,
	}
	provider, err := oidcdev.New(oidcdev.Config{
		Issuer:       o.issuer,
		ClientID:     oidcdev.LocalClientID,
		ClientSecret: secrets.ClientSecret,
		RedirectURIs: []string{o.redirectURL},
		Users:        []oidcdev.User{secrets.OpsUser()},
	})
	if err != nil {
		return localOIDC{}, err
	}
	ln, err := net.Listen("tcp", addr(oidcPort, offset))
	if err != nil {
		return localOIDC{}, fmt.Errorf("listen for the OpenID provider: %w", err)
	}
	srv := &http.Server{Handler: provider, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	o.stop = func() { _ = srv.Close() }
	return o, nil
}

// portalEnv is the portal's configuration for signing ops in through this provider;
// production sets the same keys to ITSS's provider.
func (o localOIDC) portalEnv() []string {
	return []string{
		"PORTAL_OIDC_ISSUER=" + o.issuer,
		"PORTAL_OIDC_CLIENT_ID=" + oidcdev.LocalClientID,
		"PORTAL_OIDC_CLIENT_SECRET=" + o.secrets.ClientSecret,
		"PORTAL_OIDC_REDIRECT_URL=" + o.redirectURL,
		"PORTAL_OPS_GROUP=" + oidcdev.LocalOpsGroup,
	}
}

// banner tells the developer how to sign in as ops.
func (o localOIDC) banner() string {
	return fmt.Sprintf("\nITSS staff sign in to the portal through the local OpenID provider at %s as:\n\n"+
		"  email     %s\n  password  %s   (made for this data directory, kept in its %s)\n",
		o.issuer, oidcdev.LocalOpsEmail, o.secrets.OpsPassword, oidcSecretsFile)
}
