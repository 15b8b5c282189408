// Package static holds the portal's stylesheet, embedded in the binary.
package static

import "embed"

// Files are served under /static/.
//
//go:embed *.css
var Files embed.FS
