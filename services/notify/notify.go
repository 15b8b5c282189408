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
