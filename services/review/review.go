// Package review exposes what the deployment checks need to know about the review
// service without reaching into its internals.
package review

import (
	libconfig "github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/services/review/internal/config"
)

// ConfigKeys lists every environment variable the service reads.
func ConfigKeys() ([]string, error) {
	c := config.Default()
	return libconfig.Keys(&c)
}
