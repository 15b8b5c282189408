// Package notify exposes what the deployment checks need to know about the notify
// service without reaching into its internals.
package notify

import (
	libconfig "github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/services/notify/internal/config"
)

// ConfigKeys lists every environment variable the service reads.
func ConfigKeys() ([]string, error) {
	c := config.Default()
	return libconfig.Keys(&c)
}

// CheckConfig reads environ as the service reads its environment at start-up and
// returns what it would refuse, so that the deployment's tests can load the
// rendered manifests' settings as the pods will.
func CheckConfig(environ map[string]string) error {
	c := config.Default()
	return libconfig.LoadFrom(&c, environ)
}
