//go:build tools

// Package tools pins the build-only programs (code generators, linters, the local
// mail catcher, gojq for the README's walkthrough, which reads ids from JSON answers)
// in a module of their own, so that their dependencies never move the versions the
// services build with.
package tools

import (
	_ "github.com/axllent/mailpit"
	_ "github.com/itchyny/gojq/cmd/gojq"
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
