package oidcdev_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// jwtHeader reads the alg of a compact JWS without trusting anything else in it.
func jwtHeader(raw string) (string, error) {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return "", errors.New("not a compact JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", err
	}
	var h struct {
		Alg string `json:"alg"`
	}
	return h.Alg, json.Unmarshal(b, &h)
}
