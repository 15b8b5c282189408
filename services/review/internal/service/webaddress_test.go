package service_test

import (
	"net/http"
	"testing"

	"github.com/itss/techcommit/libs/auth"
)

// A submission's webpage is taken with its scheme and host in any case (RFC 3986:
// "Https://", which a word processor makes of a sentence's first word, is https), and
// kept with them in lower case, so that the link reviewers and emails are given is
// one usable address; its path keeps its case. Before, the API refused it as not
// starting https://, which only the portal's editor put right.
func TestASubmissionsWebpageIsTakenInAnyCaseAndKeptInLowerCase(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	lead := h.Token(auth.RoleLead, "a")
	body := complete("Start an award")
	body["webpage"] = "Https://WWW.Example.AC.UK/TC-Plan"
	id := h.drafted("a", body)
	webpage := func() any {
		return h.Must(http.StatusOK, h.Do("GET", "/v1/submissions/"+id, lead, nil)).JSON(t)["content"].(map[string]any)["webpage"]
	}
	if got := webpage(); got != "https://www.example.ac.uk/TC-Plan" {
		t.Errorf("the draft's webpage is kept as %v", got)
	}
	body["webpage"] = "HTTP://Example.ac.uk/Plan#Actions"
	h.Must(http.StatusOK, h.Do("PUT", "/v1/submissions/"+id, lead, body))
	if got := webpage(); got != "http://example.ac.uk/Plan#Actions" {
		t.Errorf("the revised webpage is kept as %v", got)
	}
	for _, bad := range []string{"Ftp://example.ac.uk/plan", "example.ac.uk/plan"} {
		body["webpage"] = bad
		if r := h.Must(http.StatusBadRequest, h.Do("PUT", "/v1/submissions/"+id, lead, body)); r.JSON(t)["field"] != "webpage" {
			t.Errorf("webpage %q is refused naming %v", bad, r.JSON(t)["field"])
		}
	}
}
