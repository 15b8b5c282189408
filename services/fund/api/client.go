package api

// The client is generated apart from the server (its own configuration, its own
// file) so that the server's generation stays as it was; both share the models.
//go:generate env GOWORK=off go run -modfile=../../../tools/go.mod github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config client.cfg.yaml openapi.yaml
