// Command signatory runs the signatory service: organisations, onboarding, the public
// directory and the obligation clocks. It is configured by environment variables (see
// the README) and stops gracefully on SIGINT or SIGTERM.
// With an argument it runs that operations command (rebuild-projections,
// seal-older-events) and exits.
package main

import (
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/signatory/internal/config"
	"github.com/itss/techcommit/services/signatory/internal/service"
)

func main() { platform.Main("signatory", config.Default, service.New) }
