//go:build tools

// Package tools pins the build-only programs (code generators, linters, the
// vulnerability checker and the tool that indexes its offline database, the local
// mail catcher, gojq for the README's walkthrough, which reads ids from JSON answers)
// in a module of their own, so that their dependencies never move the versions the
// services build with.
package tools

import (
	_ "github.com/axllent/mailpit"
	_ "github.com/itchyny/gojq/cmd/gojq"
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	_ "github.com/securego/gosec/v2/cmd/gosec"
	_ "golang.org/x/vuln/cmd/govulncheck"
	_ "golang.org/x/vulndb/cmd/indexdb"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
