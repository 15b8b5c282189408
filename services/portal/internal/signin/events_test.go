package signin_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// TestTheLeadsPagesNameTheOrganisationByItsCorrectedName: once ITSS corrects an
// organisation's name (OrganisationDetailsCorrectedV1), the portal's records of its
// lead and of the colleagues the lead named hold the new one, from which the
// portal's pages and messages name it; a redelivery changes nothing more, and a
// correction of an organisation the portal holds no lead of records nothing.
func TestTheLeadsPagesNameTheOrganisationByItsCorrectedName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeople(t)
	spec, handle := signin.LeadsConsumer(p)
	if !slices.Contains(spec.FilterSubjects, events.SubjectOrganisationDetailsCorrected) {
		t.Fatalf("the leads' consumer does not take %s: %v", events.SubjectOrganisationDetailsCorrected, spec.FilterSubjects)
	}
	deliver := func(org string, pl events.Payload) {
		t.Helper()
		data, _ := json.Marshal(pl)
		if err := handle(ctx, events.Envelope{ID: org + pl.EventType(), Type: pl.EventType(), AggregateType: "organisation", AggregateID: org, Version: 1, Time: time.Now(), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	deliver("org-1", events.OrganisationAnnouncedV1{OrganisationID: "org-1", Name: "Univeristy of Exampleton", Kind: "signatory",
		NominatedLead: events.Person{Name: "Ann", Email: "ann@example.ac.uk"}})
	if err := p.AddApplicant(ctx, signin.Applicant{OrgID: "org-1", OrgName: "Univeristy of Exampleton", Name: "Cat", Email: "cat@example.ac.uk"}, "p-ann", time.Now()); err != nil {
		t.Fatal(err)
	}
	corrected := events.OrganisationDetailsCorrectedV1{OrganisationID: "org-1", Name: "University of Exampleton", Sector: "higher_education", Country: "GB", Website: "https://www.exampleton.ac.uk"}
	deliver("org-1", corrected)
	deliver("org-1", corrected)
	deliver("org-2", events.OrganisationDetailsCorrectedV1{OrganisationID: "org-2", Name: "Nobody's", Sector: "other", Country: "GB", Website: "https://nobody.example"})

	ann, err := p.Lookup(ctx, "ann@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := ann.LeadOf("org-1"); !ok || l.OrgName != "University of Exampleton" || l.Name != "Ann" {
		t.Errorf("the lead's record: %+v", ann.Leads)
	}
	cat, err := p.Lookup(ctx, "cat@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := cat.ApplicantOf("org-1"); !ok || a.OrgName != "University of Exampleton" {
		t.Errorf("the colleague's record: %+v", cat.Applicant)
	}
}
