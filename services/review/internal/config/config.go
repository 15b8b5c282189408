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
}

// Default returns the configuration for the local stack, before the environment is read.
func Default() Config {
	var c Config
	if err := libconfig.Defaults(&c); err != nil {
		panic(err) // the tags are constants: a failure here is a bug caught by any test
	}
	c.HTTP.Addr = "127.0.0.1:8082"
	c.HTTP.AdminAddr = "127.0.0.1:9082"
	c.Mongo.Database = "review"
	return c
}

// Load reads the environment over the defaults and validates the result.
func Load() (Config, error) {
	c := Default()
	err := libconfig.Load(&c)
	return c, err
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	errs := []error{c.Platform.Validate()}
	if c.Review.DeadlineRecheck < 10*time.Millisecond || c.Review.DeadlineRecheck > time.Minute {
		errs = append(errs, errors.New("REVIEW_DEADLINE_RECHECK must be 10ms to 1m: a passed review deadline must be noticed within a minute"))
	}
	return errors.Join(errs...)
}
