// Command fund runs the fund service: Technician Collaboration Fund rounds,
// applications through the public API, assessment, awards within budget, and reports.
// It is configured by environment variables (see the README) and stops gracefully on
// SIGINT or SIGTERM.
// With an argument it runs that operations command (rebuild-projections,
// seal-older-events) and exits.
package main

import (
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/fund/internal/config"
	"github.com/itss/techcommit/services/fund/internal/service"
)

func main() { platform.Main("fund", config.Default, service.New) }
