package config_test

import (
	"testing"

	"github.com/itss/techcommit/libs/config"
)

// TestDefaultedAppliesTheTagsThenTheServicesOwn: a service's defaults are its
// struct's envDefault tags with its own listeners and database over them, and
// nothing of the process's environment.
func TestDefaultedAppliesTheTagsThenTheServicesOwn(t *testing.T) {
	t.Setenv("LOG_LEVEL", "debug")
	type service struct{ config.Platform }
	c := config.Defaulted(func(c *service) { c.Local(8084, 9084, "fund") })
	if c.HTTP.Addr != "127.0.0.1:8084" || c.HTTP.AdminAddr != "127.0.0.1:9084" || c.Mongo.Database != "fund" {
		t.Errorf("listeners %s and %s, database %s; want 127.0.0.1:8084, 127.0.0.1:9084 and fund", c.HTTP.Addr, c.HTTP.AdminAddr, c.Mongo.Database)
	}
	var tags service
	if err := config.Defaults(&tags); err != nil {
		t.Fatal(err)
	}
	if c.HTTP.BodyLimit != tags.HTTP.BodyLimit || c.HTTP.BodyLimit == "" || c.Telemetry != tags.Telemetry {
		t.Errorf("defaults %+v %+v, want the tags' %+v %+v", c.HTTP, c.Telemetry, tags.HTTP, tags.Telemetry)
	}
}
