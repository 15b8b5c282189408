// Package config is the signatory service's configuration, read from the environment.
package config

import (
	libconfig "github.com/itss/techcommit/libs/config"
)

// Config is everything the signatory service reads at start-up.
type Config struct {
	libconfig.Platform
}

// Default returns the configuration for the local stack, before the environment is
// read (platform.Main reads it over these and validates the result).
func Default() Config {
	return libconfig.Defaulted(func(c *Config) { c.Local(8081, 9081, "signatory") })
}

// Validate reports every problem at once.
func (c Config) Validate() error { return c.Platform.Validate() }
