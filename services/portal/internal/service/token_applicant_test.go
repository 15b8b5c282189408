package service

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// A colleague the lead named makes an API token in the portal, and their tool drafts
// and submits an application with it through the real fund service: the fund names
// the colleague, by the name the lead gave them and the address they signed in with,
// as the application's applicant, so that the fund's emails (receipt, decision,
// report due) reach the person who wrote it and not the lead alone. A token the lead
// makes names the lead.
func TestAnApplicationMadeWithAPortalTokenNamesWhoMadeTheToken(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	mine := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	round := s.openRound(t)
	lead := s.p.signIn("lead-a@example.ac.uk")
	if r := s.p.do("POST", "/organisations/"+mine+"/applicants", lead,
		url.Values{"applicant_name": {"Pat Applicant"}, "applicant_email": {"pat@example.ac.uk"}}); r.status != http.StatusSeeOther {
		t.Fatalf("naming a colleague = %d: %s", r.status, r.body)
	} else if after := s.p.do("GET", r.header.Get("Location"), lead, nil); !strings.Contains(after.body, `role="status">Your colleague was added`) {
		// Said as a status message on the page it leads back to.
		t.Errorf("the tokens page after naming a colleague does not say so: %s", after.body)
	}

	pat := s.p.signIn("pat@example.ac.uk")
	made := s.p.do("POST", "/organisations/"+mine+"/tokens", pat, url.Values{"name": {"Pat's grants tool"}, "days": {"30"}})
	if made.status != http.StatusCreated {
		t.Fatalf("the colleague making a token = %d: %s", made.status, made.body)
	}
	secret := secretOn(t, made.body)
	id := s.draftWith(t, secret, round, "lead-a@example.ac.uk")
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+id+"/submission", secret, nil))

	want := events.Person{Name: "Pat Applicant", Email: "pat@example.ac.uk"}
	for _, typ := range []string{events.ApplicationDraftedV1{}.EventType(), events.ApplicationSubmittedV1{}.EventType()} {
		if diff := cmp.Diff(want, fundApplicant(t, s, id, typ)); diff != "" {
			t.Errorf("%s of the colleague's application names as its applicant (-want +got):\n%s", typ, diff)
		}
	}

	byLead := s.p.do("POST", "/organisations/"+mine+"/tokens", lead, url.Values{"name": {"Lead's tool"}, "days": {"7"}})
	if byLead.status != http.StatusCreated {
		t.Fatalf("the lead making a token = %d: %s", byLead.status, byLead.body)
	}
	leads := s.draftWith(t, secretOn(t, byLead.body), round, "lead-a@example.ac.uk")
	if got := fundApplicant(t, s, leads, events.ApplicationDraftedV1{}.EventType()); got.Email != "lead-a@example.ac.uk" || got.Name == "" {
		t.Errorf("the lead's token drafted an application whose applicant is %+v, want the lead", got)
	}
}

// fundApplicant is the applicant the fund's event of type typ about application id
// names, as the fund published it (opened: the stream carries people in the clear),
// waiting for the relay to publish it.
func fundApplicant(t *testing.T, s *fundStack, id, typ string) events.Person {
	t.Helper()
	var got events.Person
	testenv.Eventually(t, 10*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := s.p.env.JS.Stream(ctx, events.StreamFund)
		if err != nil {
			return err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
			m, err := st.GetMsg(ctx, seq)
			if err != nil {
				continue
			}
			e, err := bus.Envelope(m.Subject, m.Header, m.Data)
			if err != nil || e.AggregateID != id || e.Type != typ {
				continue
			}
			p, err := events.DecodeAny(e)
			if err != nil {
				return err
			}
			switch p := p.(type) {
			case events.ApplicationDraftedV1:
				got = p.Applicant
			case events.ApplicationSubmittedV1:
				got = p.Applicant
			}
			return nil
		}
		return fmt.Errorf("no %s of application %s on the fund's stream yet", typ, id)
	})
	return got
}
