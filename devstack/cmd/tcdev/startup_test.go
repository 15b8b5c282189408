package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// buildServices builds the four service binaries into a directory of the test's.
func buildServices(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	args := []string{"build", "-o", bin + string(filepath.Separator)}
	for _, s := range serviceNames() {
		args = append(args, "./services/"+s+"/cmd/"+s)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// TestServicesRefuseToStartWithoutTheirTrustSettings starts each service binary as
// production would, with its issuer, audience, keys, database and bus settings unset,
// set empty, or with keys over plain http:// and no development flag: each refuses
// to start, naming every variable at fault, before connecting to anything.
func TestServicesRefuseToStartWithoutTheirTrustSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the four services")
	}
	bin := buildServices(t)
	trust := []string{"AUTH_AUDIENCE", "AUTH_ISSUER", "AUTH_JWKS_URL", "MONGO_URI", "NATS_URL"}
	good := map[string]string{
		"AUTH_AUDIENCE": "tc-x", "AUTH_ISSUER": "https://login.example", "AUTH_JWKS_URL": "https://login.example/jwks.json",
		"MONGO_URI": "mongodb://127.0.0.1:1/", "NATS_URL": "nats://127.0.0.1:1",
	}
	tests := []struct {
		name  string
		env   map[string]string
		named []string // the variables the error must name
		says  string   // and what it must say of them
	}{
		{"unset", map[string]string{}, trust, "must be set"},
		{"empty", map[string]string{"AUTH_AUDIENCE": "", "AUTH_ISSUER": "", "AUTH_JWKS_URL": "", "MONGO_URI": "", "NATS_URL": ""}, trust, "must be set"},
		{"keys over http without the development flag", with(good, "AUTH_JWKS_URL", "http://127.0.0.1:8079/.well-known/jwks.json"),
			[]string{"AUTH_JWKS_URL"}, "AUTH_ALLOW_INSECURE_JWKS"},
		{"the flag set false", with(with(good, "AUTH_JWKS_URL", "http://127.0.0.1:8079/.well-known/jwks.json"), "AUTH_ALLOW_INSECURE_JWKS", "false"),
			[]string{"AUTH_JWKS_URL"}, "AUTH_ALLOW_INSECURE_JWKS"},
	}
	for _, s := range serviceNames() {
		for _, tt := range tests {
			t.Run(s+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, filepath.Join(bin, s))
				// Nothing inherited: only what the case sets, as a fresh container.
				cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
				for k, v := range tt.env {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				err := cmd.Run()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || ctx.Err() != nil {
					t.Fatalf("%s started (or hung): %v, ctx %v\n%s", s, err, ctx.Err(), stderr.String())
				}
				var named []string
				for _, line := range strings.Split(stderr.String(), "\n") {
					for _, key := range trust {
						if strings.HasPrefix(strings.TrimPrefix(line, s+": configuration: "), key+" ") {
							named = append(named, key)
							if !strings.Contains(line, tt.says) {
								t.Errorf("%q does not say %q", line, tt.says)
							}
						}
					}
				}
				slices.Sort(named)
				if !slices.Equal(named, tt.named) {
					t.Errorf("named %v, want %v:\n%s", named, tt.named, stderr.String())
				}
			})
		}
	}
}

// with returns a copy of env with key set to value.
func with(env map[string]string, key, value string) map[string]string {
	out := map[string]string{key: value}
	for k, v := range env {
		if k != key {
			out[k] = v
		}
	}
	return out
}
