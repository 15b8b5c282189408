package service

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Submit pressed twice at once (a double click) sends the editor's form twice, each
// saved first at the version the page was filled from. Whichever press saves second
// finds the draft changed since, but only by the other press, into what it was about
// to save itself: both presses land on "Submission received", and the draft is
// received as typed. The later one was refused as if someone else had saved the draft
// meanwhile, with a stale "Still missing" list, and the browser shows the last answer.
func TestSubmitPressedTwiceAtOnceLandsOnReceivedBothTimes(t *testing.T) {
	t.Parallel()
	s, org, cookie := submissionStack(t)
	e := startDraft(t, s, org, cookie)
	e.setPlan(t, "Start an annual technician award")
	submit := e.editor() + "/submit"
	form := pressed(t, e.get(e.editor()).body, submit)
	const typed = "Typed just before Submit: a survey of all 140 technicians"
	form.Set("how_consulted", typed)

	var wg sync.WaitGroup
	answers := make([]response, 2)
	startLine := make(chan struct{})
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startLine
			answers[i] = s.p.do("POST", submit, cookie, form)
		}()
	}
	close(startLine)
	wg.Wait()

	want := e.editor() + "?received=" + e.draft
	for i, r := range answers {
		if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
			t.Errorf("press %d = %d to %q, want 303 to %s: %.300s", i+1, r.status, r.header.Get("Location"), want, shownText(t, r.body))
			continue
		}
		if page := s.p.do("GET", r.header.Get("Location"), cookie, nil); !strings.Contains(page.body, "Submission received") {
			t.Errorf("press %d lands on: %.300s", i+1, shownText(t, page.body))
		}
	}
	if sub := storedSubmission(t, s, org, e.draft); sub["status"] == "draft" {
		t.Errorf("after both presses the service holds the draft unsubmitted: %v", sub)
	}
	if got := storedHowConsulted(t, e); got != typed {
		t.Errorf("the service holds how technicians were consulted as %q, want what was typed, %q", got, typed)
	}
}
