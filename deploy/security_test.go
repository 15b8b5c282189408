package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestSecurityGuideNamesTheClustersAudiences: docs/SECURITY.md tells readers which
// audience a token must carry. It named only the local stack's (tc-signatory ...
// tc-fund), while the clusters' are each service's URL on the API host: someone
// minting or checking a production token by the guide got every request refused. Each
// overlay's AUTH_AUDIENCE, its service written <service>, is in the guide.
func TestSecurityGuideNamesTheClustersAudiences(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "SECURITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(data)
	for _, o := range overlays {
		for _, obj := range render(t, o) {
			cm, ok := obj.(*corev1.ConfigMap)
			if !ok {
				continue
			}
			aud, ok := cm.Data["AUTH_AUDIENCE"]
			if !ok {
				continue
			}
			svc := strings.TrimSuffix(hashSuffix.ReplaceAllString(cm.Name, ""), "-config")
			form := strings.Replace(aud, svc, "<service>", 1)
			if !strings.Contains(guide, "`"+form+"`") {
				t.Errorf("%s: %s's audience is %s; docs/SECURITY.md does not name `%s`", o, svc, aud, form)
			}
		}
	}
}
