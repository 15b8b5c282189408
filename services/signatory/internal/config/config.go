// Package config is the signatory service's configuration, read from the environment.
package config

import (
	libconfig "github.com/itss/techcommit/libs/config"
)

// Config is everything the signatory service reads at start-up.
type Config struct {
	libconfig.Platform
}

// Default returns the configuration for the local stack, before the environment is read.
func Default() Config {
	var c Config
	if err := libconfig.Defaults(&c); err != nil {
		panic(err) // the tags are constants: a failure here is a bug caught by any test
	}
	c.HTTP.Addr = "127.0.0.1:8081"
	c.HTTP.AdminAddr = "127.0.0.1:9081"
	c.Mongo.Database = "signatory"
	return c
}

// Load reads the environment over the defaults and validates the result.
func Load() (Config, error) {
	c := Default()
	err := libconfig.Load(&c)
	return c, err
}

// Validate reports every problem at once.
func (c Config) Validate() error { return c.Platform.Validate() }
