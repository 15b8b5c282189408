// Package portal exposes what the deployment checks need to know about the portal
// without reaching into its internals.
package portal

import (
	libconfig "github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/services/portal/internal/config"
)

// ConfigKeys lists every environment variable the portal reads.
func ConfigKeys() ([]string, error) {
	c := config.Default()
	return libconfig.Keys(&c)
}

// CheckConfig reads environ as the portal reads its environment at start-up and
// returns what it would refuse, so that the deployment's tests can load the
// rendered manifests' settings as the pods will.
func CheckConfig(environ map[string]string) error {
	_, err := config.LoadFrom(environ)
	return err
}
