// Package config is the signatory service's configuration, read from the environment.
package config

import (
	"errors"
	"time"

	libconfig "github.com/itss/techcommit/libs/config"
)

// Config is everything the signatory service reads at start-up.
type Config struct {
	libconfig.Platform
	Signatory Signatory
}

// Signatory is the service's own behaviour.
type Signatory struct {
	// IdempotencyTTL is how long a stored response answers retries of its key (an
	// enquiry recorded from a form sent twice).
	IdempotencyTTL time.Duration `env:"SIGNATORY_IDEMPOTENCY_TTL" envDefault:"24h"`
}

// Default returns the configuration for the local stack, before the environment is
// read (platform.Main reads it over these and validates the result).
func Default() Config {
	return libconfig.Defaulted(func(c *Config) { c.Local(8081, 9081, "signatory") })
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if err := c.Platform.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Signatory.IdempotencyTTL < time.Minute || c.Signatory.IdempotencyTTL > 7*24*time.Hour {
		errs = append(errs, errors.New("SIGNATORY_IDEMPOTENCY_TTL must be between 1m and 168h (a week): stored answers name the people of an enquiry"))
	}
	return errors.Join(errs...)
}
