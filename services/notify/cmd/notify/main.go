// Command notify runs the notify service: the reminder ladder of every obligation,
// receipts and decisions, calendar feeds and the delivery log. It is configured by
// environment variables (see the README) and stops gracefully on SIGINT or SIGTERM.
// With an argument it runs that operations command (rebuild-projections) and exits.
package main

import (
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/notify/internal/config"
	"github.com/itss/techcommit/services/notify/internal/service"
)

func main() { platform.Main("notify", config.Default, service.New) }
