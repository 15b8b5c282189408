package service_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// An enquiry sent twice with one Idempotency-Key (a form pressed twice, a retry after
// a timeout), in turn or at once, records one organisation, and each answer is the
// first's; the same key with another body is 422; without a key each send records one.
func TestAnEnquirySentTwiceWithOneKeyIsRecordedOnce(t *testing.T) {
	t.Parallel()
	h := start(t)
	ops := h.Token(auth.RoleOps, "")
	first := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, enquiry, "Idempotency-Key", "form-1"))
	again := h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, enquiry, "Idempotency-Key", "form-1"))
	if first.JSON(t)["id"] != again.JSON(t)["id"] || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the second send answered %v (replayed %q), want the first's organisation %v", again.JSON(t)["id"], again.Header.Get("Idempotent-Replayed"), first.JSON(t)["id"])
	}
	other := withDate(enquiry, "name", "Othertown College")
	h.Must(http.StatusUnprocessableEntity, h.Do("POST", "/v1/organisations", ops, other, "Idempotency-Key", "form-1"))

	var wg sync.WaitGroup
	ids := make([]any, 4)
	for i := range ids {
		wg.Go(func() {
			r := h.Do("POST", "/v1/organisations", ops, other, "Idempotency-Key", "form-2")
			if r.Status == http.StatusCreated {
				ids[i] = r.JSON(t)["id"]
			}
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id == nil || id != ids[0] {
			t.Fatalf("four sends at once with one key answered %v, want one organisation four times", ids)
		}
	}
	h.Must(http.StatusCreated, h.Do("POST", "/v1/organisations", ops, other))
	// The list is a projection, which may lag the answers.
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(h.all("/v1/organisations?limit=200", ops)); n != 3 {
			return fmt.Errorf("%d organisations listed, want 3: two sent with keys, one without", n)
		}
		return nil
	})
}

// An enquiry's stored answer (kept to answer a retry of its Idempotency-Key) names its
// contact: erasing the contact forgets it too, so nothing in the database names them.
func TestErasingAnEnquirysContactForgetsItsStoredAnswer(t *testing.T) {
	t.Parallel()
	o := startObserved(t)
	ops := o.Token(auth.RoleOps, "")
	o.Must(http.StatusCreated, o.Do("POST", "/v1/organisations", ops, map[string]any{
		"name": "Hedy Institute", "kind": "signatory", "sector": "research_institute", "country": "GB",
		"website": "https://www.hedy.ac.uk", "enquiry_contact": map[string]any{"name": "Hedy Lamarr", "email": "h.lamarr@hedy.ac.uk"},
	}, "Idempotency-Key", "enquiry-hedy"))
	stored := func() int64 {
		t.Helper()
		n, err := o.svc.DB.Collection("idempotency_keys").CountDocuments(context.Background(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if stored() != 1 {
		t.Fatal("no stored answer for the enquiry's key: nothing to check")
	}
	// A subject access request's answer holds everything about a person: the
	// operation takes no Idempotency-Key, and one sent anyway keeps nothing.
	o.Must(http.StatusOK, o.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": "h.lamarr@hedy.ac.uk"}, "Idempotency-Key", "access-hedy"))
	if n := stored(); n != 1 {
		t.Errorf("after a subject access request sent with a key %d stored answers are kept, want the enquiry's alone", n)
	}
	o.Must(http.StatusOK, o.Do("POST", "/v1/ops/erasures", ops, map[string]any{"email": "h.lamarr@hedy.ac.uk"}))
	if n := stored(); n != 0 {
		t.Errorf("after erasure %d stored answers are kept, want none: the enquiry's names its contact", n)
	}
}
