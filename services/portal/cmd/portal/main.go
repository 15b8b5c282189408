// Command portal runs the suite's web front end: sign-in, and the pages where leads,
// reviewers and the public do their part. It is configured by environment variables
// (see the README) and stops gracefully on SIGINT or SIGTERM.
package main

import (
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/portal/internal/config"
	"github.com/itss/techcommit/services/portal/internal/service"
)

func main() { platform.Main("portal", config.Default, service.New) }
