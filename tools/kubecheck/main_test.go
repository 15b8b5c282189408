package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindsWhatIsWrongAndKeepsAcceptedLinesHonest: a privileged container from an
// untrusted registry and a password in a ConfigMap are findings; an accepted line
// hides exactly its finding (the ConfigMap's by its flagged keys), and one that matches
// nothing is a finding of its own.
func TestFindsWhatIsWrongAndKeepsAcceptedLinesHonest(t *testing.T) {
	var out bytes.Buffer
	n, err := run(t.Context(), &out, "", "", []string{"testdata/failing"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"KSV-0017 Deployment/web (failing):",                   // privileged
		"KSV-0125 Deployment/web (failing):",                   // untrusted registry
		"KSV-0109 ConfigMap/web-config[DB_PASSWORD] (failing)", // a secret in a ConfigMap
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
	if n < 3 {
		t.Errorf("%d findings, want at least 3", n)
	}

	accepted := filepath.Join(t.TempDir(), "accepted.txt")
	write := func(s string) {
		if err := os.WriteFile(accepted, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("KSV-0017 Deployment/web it is a test\nKSV-0109 ConfigMap/web-config[LOG_LEVEL] not the key flagged\n")
	out.Reset()
	m, err := run(t.Context(), &out, "", accepted, []string{"testdata/failing"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "KSV-0017 Deployment/web (") {
		t.Errorf("the accepted finding was reported:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "KSV-0109 ConfigMap/web-config[DB_PASSWORD] (failing)") {
		t.Errorf("a line accepting other keys hid the password:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "KSV-0109 ConfigMap/web-config[LOG_LEVEL]: accepted in") {
		t.Errorf("the stale line was not reported:\n%s", out.String())
	}
	if m != n {
		t.Errorf("%d findings with one accepted and one stale line, want %d (one fewer, one more)", m, n)
	}

	write("KSV-0017 Deployment/web\n")
	if _, err := run(t.Context(), &out, "", accepted, []string{"testdata/failing"}); err == nil {
		t.Error("an accepted line without a reason was taken")
	}
}

// TestTrustsTheRegistriesItsDataNames: the trusted registries come from the data
// directory, as deploy/kubecheck gives them.
func TestTrustsTheRegistriesItsDataNames(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "registries.json"), []byte(`{"ksv0125": {"trusted_registries": ["example.com"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := run(t.Context(), &out, data, "", []string{"testdata/failing"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "KSV-0125") {
		t.Errorf("example.com is trusted, but:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "KSV-0017") {
		t.Errorf("the other checks did not run:\n%s", out.String())
	}
}

// TestEveryDirectoryIsScanned: one scanner serves every directory given, and each is
// checked in full (a copy of the failing objects in a second directory is found again,
// named by that directory).
func TestEveryDirectoryIsScanned(t *testing.T) {
	second := filepath.Join(t.TempDir(), "second")
	if err := os.CopyFS(second, os.DirFS("testdata/failing")); err != nil {
		t.Fatal(err)
	}
	var one, two bytes.Buffer
	n, err := run(t.Context(), &one, "", "", []string{"testdata/failing"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := run(t.Context(), &two, "", "", []string{"testdata/failing", second})
	if err != nil {
		t.Fatal(err)
	}
	if m != 2*n || !strings.Contains(two.String(), "KSV-0017 Deployment/web (second):") {
		t.Errorf("%d findings over both directories, want %d (twice one's):\n%s", m, 2*n, two.String())
	}
}
