// Package api is the review service's HTTP contract: the OpenAPI document (served
// at /openapi.yaml and used to validate every request) and the server interface and
// types generated from it by `make generate`.
package api

import _ "embed"

//go:generate env GOWORK=off go run -modfile=../../../tools/go.mod github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config oapi-codegen.yaml openapi.yaml

// Spec is the OpenAPI document as written.
//
//go:embed openapi.yaml
var Spec []byte
