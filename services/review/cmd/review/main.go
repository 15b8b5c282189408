// Command review runs the review service: institutions' submissions, the reviewer
// pool, review rounds with assignment, reviews and released feedback. It is
// configured by environment variables (see the README) and stops gracefully on
// SIGINT or SIGTERM.
// With an argument it runs that operations command (rebuild-projections,
// seal-older-events) and exits.
package main

import (
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/review/internal/config"
	"github.com/itss/techcommit/services/review/internal/service"
)

func main() { platform.Main("review", config.Default, service.New) }
