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
	// OverdueSweepInterval is how often rounds whose review deadline has passed are
	// checked for reviews still outstanding.
	OverdueSweepInterval time.Duration `env:"REVIEW_OVERDUE_SWEEP_INTERVAL" envDefault:"1h"`
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
	if c.Review.OverdueSweepInterval < time.Second {
		errs = append(errs, errors.New("REVIEW_OVERDUE_SWEEP_INTERVAL must be at least 1s"))
	}
	return errors.Join(errs...)
}
