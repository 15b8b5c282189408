//go:build tools

// Package oasdiff pins oasdiff, the breaking-change check make lint runs on each
// service's OpenAPI document against its released one. It has a module of its own,
// apart from tools/, because it needs a newer kin-openapi than oapi-codegen is built
// with there, and moving that would change the generated code.
package oasdiff

import _ "github.com/oasdiff/oasdiff"
