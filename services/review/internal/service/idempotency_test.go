package service_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/testenv"
)

// A round opened twice with one Idempotency-Key (a form pressed twice, a retry after
// a timeout), in turn or at once, is opened once, and each answer is the first's; the
// same key with another body is 422.
func TestARoundOpenedTwiceWithOneKeyIsOpenedOnce(t *testing.T) {
	t.Parallel()
	h := start(t)
	body := map[string]any{"name": "Spring 2027", "review_deadline": start0.Add(30 * 24 * time.Hour).Format(time.RFC3339)}
	first := h.Must(http.StatusCreated, h.Do("POST", "/v1/review-rounds", h.ops, body, "Idempotency-Key", "form-1"))
	again := h.Must(http.StatusCreated, h.Do("POST", "/v1/review-rounds", h.ops, body, "Idempotency-Key", "form-1"))
	if first.JSON(t)["id"] != again.JSON(t)["id"] || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the second send answered %v, want the first's round %v", again.JSON(t)["id"], first.JSON(t)["id"])
	}
	other := map[string]any{"name": "Autumn 2027", "review_deadline": body["review_deadline"]}
	h.Must(http.StatusUnprocessableEntity, h.Do("POST", "/v1/review-rounds", h.ops, other, "Idempotency-Key", "form-1"))

	var wg sync.WaitGroup
	ids := make([]any, 4)
	for i := range ids {
		wg.Go(func() {
			if r := h.Do("POST", "/v1/review-rounds", h.ops, other, "Idempotency-Key", "form-2"); r.Status == http.StatusCreated {
				ids[i] = r.JSON(t)["id"]
			}
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id == nil || id != ids[0] {
			t.Fatalf("four sends at once with one key answered %v, want one round four times", ids)
		}
	}
	// The list is a read model, which may lag the answers.
	testenv.Eventually(t, 10*time.Second, func() error {
		if rounds := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds?limit=200", h.ops, nil)).JSON(t)["items"].([]any); len(rounds) != 2 {
			return fmt.Errorf("%d rounds listed, want 2", len(rounds))
		}
		return nil
	})
}
