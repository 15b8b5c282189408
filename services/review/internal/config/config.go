// Package config is the review service's configuration, read from the environment.
package config

import (
	"errors"
	"time"

	libconfig "github.com/itss/techcommit/libs/config"
)

// Config is everything the review service reads at start-up.
type Config struct {
	libconfig.Platform
	Review Review
}

// Review holds the review service's own settings.
type Review struct {
	// DeadlineRecheck bounds how long the review-deadline timer sleeps. The timer is
	// set for the earliest deadline with reviews outstanding and re-armed whenever a
	// round changes in this process; the recheck catches rounds changed by another
	// replica and clock jumps, so a passed deadline is noticed within this long.
	DeadlineRecheck time.Duration `env:"REVIEW_DEADLINE_RECHECK" envDefault:"1m"`
	// IdempotencyTTL is how long a stored response answers retries of its key (a
	// round opened from a form sent twice).
	IdempotencyTTL time.Duration `env:"REVIEW_IDEMPOTENCY_TTL" envDefault:"24h"`
}

// BodyLimit is the review service's largest request body: what its OpenAPI document
// lets a submission hold (four narratives of 20,000 characters, a consultation of
// 8,000, 200 actions of 8,210), about 1.73 million characters, at up to four bytes a
// character in JSON. At the platform's 256K a submission within every documented
// limit, in Welsh or Chinese or with long plans, was refused with 413.
const BodyLimit = "8M"

// Default returns the configuration for the local stack, before the environment is
// read (platform.Main reads it over these and validates the result).
func Default() Config {
	return libconfig.Defaulted(func(c *Config) {
		c.Local(8082, 9082, "review")
		c.HTTP.BodyLimit = BodyLimit
	})
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	errs := []error{c.Platform.Validate()}
	if c.Review.DeadlineRecheck < 10*time.Millisecond || c.Review.DeadlineRecheck > time.Minute {
		errs = append(errs, errors.New("REVIEW_DEADLINE_RECHECK must be 10ms to 1m: a passed review deadline must be noticed within a minute"))
	}
	if c.Review.IdempotencyTTL < time.Minute || c.Review.IdempotencyTTL > 7*24*time.Hour {
		errs = append(errs, errors.New("REVIEW_IDEMPOTENCY_TTL must be between 1m and 168h (a week)"))
	}
	return errors.Join(errs...)
}
