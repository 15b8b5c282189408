package service

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
)

// postAs posts body as contentType ("" for none), as a script or another client
// might, following no redirect.
func postAs(t *testing.T, p *portal, path, cookie, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Cookie", cookie)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// otherMediaTypes are a form's fields sent in every way but the one the portal reads.
func otherMediaTypes(t *testing.T, fields url.Values) map[string]struct {
	contentType string
	body        []byte
} {
	t.Helper()
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	flat := map[string]string{}
	for k, vs := range fields {
		for _, v := range vs {
			if err := w.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
		flat[k] = vs[0]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(flat)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]struct {
		contentType string
		body        []byte
	}{
		"multipart/form-data": {w.FormDataContentType(), mp.Bytes()},
		"JSON":                {"application/json", js},
		"plain text":          {"text/plain; charset=utf-8", []byte(fields.Encode())},
		"no media type":       {"", []byte(fields.Encode())},
	}
}

// A form's fields sent as multipart/form-data, JSON or anything but a web page's
// urlencoded form were read as an empty form: the editor answered "saved" and the
// review service replaced the lead's whole draft with nothing (the version was not
// read either, so nothing stopped it). Each is refused with 415 and a page saying
// nothing was saved, and the draft, and an organisation's contacts sent so to the
// console, are as they were. The same form urlencoded (with a charset) is saved.
func TestFormsInAnotherMediaTypeAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	s, org, cookie := submissionStack(t)
	editor := "/obligations/" + org + "/submission"
	draft := startDraft(t, s, org, cookie).draft
	before := storedSubmission(t, s, org, draft)

	edited := editorForm(t, s.p, cookie, editor+"?draft="+draft, map[string]string{"narrative-visibility": "Our careful narrative, edited"})
	refused := func(what string, r response) {
		t.Helper()
		if r.status != http.StatusUnsupportedMediaType || h1(t, r.body) != "The form could not be read" || !strings.Contains(r.body, "Nothing was saved or changed") {
			t.Errorf("%s = %d: %s", what, r.status, r.body)
		}
	}
	for name, sent := range otherMediaTypes(t, edited) {
		refused("the editor's form as "+name, postAs(t, s.p, editor, cookie, sent.contentType, sent.body))
	}
	if diff := cmp.Diff(before, storedSubmission(t, s, org, draft)); diff != "" {
		t.Fatalf("forms in another media type changed the draft (-before +after):\n%s", diff)
	}

	// A console form: an organisation's contacts, as ITSS staff change them.
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	page := "/ops/organisations/" + org + "/contacts"
	contacts := url.Values{"leader.name": {"Prof. Someone Else"}, "leader.email": {"else@example.ac.uk"},
		"nominated_lead.name": {"Sam Patel"}, "nominated_lead.email": {"lead-a@example.ac.uk"},
		"point_of_contact.name": {"Technical Services Office"},
		"version":               {hidden(parse(t, opsMustStatus(t, s.p.do("GET", page, ops, nil), http.StatusOK, "the contacts form").body), "version")}}
	orgNow := func() map[string]any {
		return s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations/"+org, opsToken(t, s.sig, "signatory"), nil)).JSON(t)
	}
	orgBefore := orgNow()
	for name, sent := range otherMediaTypes(t, contacts) {
		refused("the console's contacts form as "+name, postAs(t, s.p, page, ops, sent.contentType, sent.body))
	}
	if diff := cmp.Diff(orgBefore, orgNow()); diff != "" {
		t.Errorf("console forms in another media type changed the organisation (-before +after):\n%s", diff)
	}

	// The editor's form as a page sends it is read, with or without a charset.
	r := postAs(t, s.p, editor, cookie, "application/x-www-form-urlencoded; charset=UTF-8", []byte(edited.Encode()))
	if _, ok := savedDraft(editor, r); !ok {
		t.Fatalf("the editor's form urlencoded = %d: %s", r.status, r.body)
	}
	sa := storedSubmission(t, s, org, draft)["content"].(map[string]any)["self_assessment"].([]any)
	if got := sa[0].(map[string]any)["narrative"]; got != "Our careful narrative, edited" {
		t.Errorf("the urlencoded save stored the visibility narrative %v", got)
	}
}

// Every form that changes something versioned is shown with the version it was
// filled from. Sent without it (or with one that is no version), the editor's save
// was read as "no precondition" and replaced the draft whatever it held; it is
// refused, nothing changes, and the page links to the editor to make the change
// there. The lead's contacts form is refused in the same way.
func TestAFormWithoutItsVersionIsRefusedRatherThanOverwriting(t *testing.T) {
	t.Parallel()
	s, org, cookie := submissionStack(t)
	editor := "/obligations/" + org + "/submission"
	draft := startDraft(t, s, org, cookie).draft
	before := storedSubmission(t, s, org, draft)

	refused := func(what string, r response, link string) {
		t.Helper()
		if r.status != http.StatusConflict || h1(t, r.body) != "Nothing was saved" || !strings.Contains(r.body, "did not say which version it was filled from") ||
			linkLabelled(parse(t, r.body), "Open the page again") != link {
			t.Errorf("%s = %d: %s", what, r.status, r.body)
		}
	}
	for _, version := range []string{"", "4", `"0"`, "latest"} {
		form := mainForm(map[string]string{"draft": draft, "narrative-visibility": "Overwritten", "how_consulted": ""})
		if version != "" {
			form.Set("version", version)
		}
		refused(fmt.Sprintf("the editor's form with version %q", version), s.p.do("POST", editor, cookie, form), editor+"?draft="+draft)
	}
	if diff := cmp.Diff(before, storedSubmission(t, s, org, draft)); diff != "" {
		t.Fatalf("forms without their version changed the draft (-before +after):\n%s", diff)
	}

	contacts := "/obligations/" + org + "/contacts"
	form := formIn(t, s.p.do("GET", contacts, cookie, nil).body, contacts)
	form.Set("leader.name", "Prof. Overwritten")
	form.Del("version")
	refused("the contacts form without its version", s.p.do("POST", contacts, cookie, form), contacts)
	if got := value(parse(t, s.p.do("GET", contacts, cookie, nil).body), "field-leader-name"); got != "Prof. Jane Smith" {
		t.Errorf("the contacts form without its version changed the head to %q", got)
	}
}

// The console's download links are the list's filters: a round's "Download
// applications" gave every round's applications, and "Download these
// organisations" after a search gave every organisation, since the page wrote the
// query into the link as one escaped value. The links are followed as the page
// gives them.
func TestExportLinksKeepTheListsFilters(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	orgA := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	orgB := onboard(t, s.p, s.sig, "Othertown College", "lead-b@example.ac.uk")
	tok := opsToken(t, s.sig, "signatory")
	s.sig.Must(http.StatusCreated, s.sig.Do("POST", "/v1/organisations", tok, map[string]any{
		"name": "Exampleton Institute", "kind": "supporter", "sector": "network", "country": "GB", "website": "https://www.example.org",
		"enquiry_contact": map[string]any{"name": "Ann Other", "email": "ann@example.org"}}))
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	// follow opens page, checks it lists what it should, and returns the CSV its
	// link labelled label leads to.
	follow := func(page, label string) [][]string {
		t.Helper()
		r := opsMustStatus(t, s.p.do("GET", page, ops, nil), http.StatusOK, page)
		link := linkLabelled(parse(t, r.body), label)
		if link == "" {
			t.Fatalf("%s has no link %q: %s", page, label, r.body)
		}
		exp := opsMustStatus(t, s.p.do("GET", link, ops, nil), http.StatusOK, "the link "+link+" on "+page)
		recs, err := csv.NewReader(strings.NewReader(exp.body)).ReadAll()
		if err != nil {
			t.Fatalf("%s is not CSV: %v\n%s", link, err, exp.body)
		}
		return recs[1:]
	}
	column := func(recs [][]string, n int) []string {
		var out []string
		for _, rec := range recs {
			out = append(out, rec[n])
		}
		slices.Sort(out)
		return out
	}

	// The enquiry's name is a match too, in another status, once the list has it.
	testenv.Eventually(t, 15*time.Second, func() error {
		if r := s.p.do("GET", "/ops/organisations?q=Exampleton", ops, nil); !strings.Contains(r.body, "2 organisations") {
			return fmt.Errorf("the search for Exampleton lists: %s", r.body)
		}
		return nil
	})
	got := column(follow("/ops/organisations?q=Exampleton", "Download these organisations with their next obligation (CSV)"), 1)
	if want := []string{"Exampleton Institute", "University of Exampleton"}; !slices.Equal(got, want) {
		t.Errorf("the organisations named Exampleton export as %q, want %q", got, want)
	}
	got = column(follow("/ops/organisations?q=exampleton&status=announced&kind=signatory", "Download these organisations with their next obligation (CSV)"), 1)
	if want := []string{"University of Exampleton"}; !slices.Equal(got, want) {
		t.Errorf("the announced signatories named Exampleton export as %q, want %q", got, want)
	}

	year := time.Now().Year() + 1
	fundTok := opsToken(t, s.fund, "fund")
	openRound := func(name string) string {
		return s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", fundTok, map[string]any{
			"name": name, "opens": time.Now().Add(-time.Hour).Truncate(time.Minute).Format(time.RFC3339),
			"closes": time.Now().AddDate(0, 1, 0).Truncate(time.Minute).Format(time.RFC3339), "budget_pence": 1000000,
			"min_award_pence": 10000, "max_award_pence": 100000, "project_start": fmt.Sprintf("%d-03-01", year),
			"project_end": fmt.Sprintf("%d-12-31", year), "themes": []string{"career_development"}})).JSON(t)["id"].(string)
	}
	one, two := openRound("Round one"), openRound("Round two")
	appA := opsSubmitApplication(t, s, one, orgA, "lead-a@example.ac.uk", year)
	appB := opsSubmitApplication(t, s, two, orgB, "lead-b@example.ac.uk", year)
	// The fund's list has them submitted in its own time.
	testenv.Eventually(t, 15*time.Second, func() error {
		if n := len(s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/applications?status=submitted", fundTok, nil)).JSON(t)["items"].([]any)); n != 2 {
			return fmt.Errorf("the fund lists %d applications submitted", n)
		}
		return nil
	})
	for _, c := range []struct {
		page string
		want []string
	}{
		{"/ops/fund/applications?round=" + one, []string{appA}},
		{"/ops/fund/applications?round=" + two + "&status=submitted", []string{appB}},
		{"/ops/fund/applications?round=" + two + "&status=awarded", nil},
	} {
		if got := column(follow(c.page, "Download applications and awards (CSV)"), 0); !slices.Equal(got, c.want) {
			t.Errorf("the export linked from %s holds applications %q, want %q", c.page, got, c.want)
		}
	}
}
