package oidcdev

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Local is what a development stack keeps in its data directory so that the
// ops user's password and the portal's client secret are made once per directory,
// printed for the developer, and never written in code.
type Local struct {
	OpsPassword  string `json:"ops_password"`
	ClientSecret string `json:"client_secret"`
}

// LoadOrCreateLocal reads the secrets at path, creating them (mode 0600) the first
// time.
func LoadOrCreateLocal(path string) (Local, error) {
	data, err := os.ReadFile(path) // #nosec G304 -- the secrets file in the data directory the developer named
	if errors.Is(err, os.ErrNotExist) {
		l := Local{OpsPassword: rand.Text(), ClientSecret: rand.Text()}
		data, err := json.MarshalIndent(l, "", "  ") // #nosec G117 -- written only to the developer's own data directory, mode 0600
		if err != nil {
			return Local{}, fmt.Errorf("encode %s: %w", path, err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return Local{}, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return Local{}, fmt.Errorf("write %s: %w", path, err)
		}
		return l, nil
	}
	if err != nil {
		return Local{}, fmt.Errorf("read %s: %w", path, err)
	}
	var l Local
	if err := json.Unmarshal(data, &l); err != nil {
		return Local{}, fmt.Errorf("decode %s: %w", path, err)
	}
	if l.OpsPassword == "" || l.ClientSecret == "" {
		return Local{}, fmt.Errorf("%s: ops_password and client_secret must both be set (delete the file to make new ones)", path)
	}
	return l, nil
}

// The local stack's client, group and ops user. ITSS's own provider has its own
// names; the portal takes them from its configuration.
const (
	LocalClientID = "tc-portal"
	LocalOpsGroup = "itss-ops"
	LocalOpsEmail = "ops@itss.example"
	LocalOpsName  = "Local Ops"
)

// OpsUser is the local stack's one member of the ops group.
func (l Local) OpsUser() User {
	return User{Subject: "local-ops", Email: LocalOpsEmail, Name: LocalOpsName, Password: l.OpsPassword, Groups: []string{LocalOpsGroup}}
}
