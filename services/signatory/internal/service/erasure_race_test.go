package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// An erasure racing a contacts change that names the person leaves them nowhere: the
// stream's copy of the change, which carries the address opened for the other
// services, is forgotten with the rest. The erasure looked for the organisations
// naming the person before it destroyed their key, and a change sealed with the key
// before that and appended after the look was missed: its stream copy kept the
// address (the stream held one in half the runs of 20 rounds on the code before).
func TestAnErasureRacingAContactsChangeLeavesThePersonNowhere(t *testing.T) {
	t.Parallel()
	o := startObserved(t)
	ops := o.Token(auth.RoleOps, "")
	a, b := o.onboard(ops, "announcement"), o.onboard(ops, "announcement")
	contacts := func(poc string) map[string]any {
		return map[string]any{
			"leader":           map[string]any{"name": "Prof. Jane Smith", "title": "Vice-Chancellor", "email": "vc@exampleton.ac.uk"},
			"nominated_lead":   map[string]any{"name": "Sam Patel", "email": "s.patel@exampleton.ac.uk"},
			"point_of_contact": map[string]any{"name": "Pat Contact", "email": poc},
		}
	}
	const rounds = 40
	var addresses []string
	for i := range rounds {
		person := fmt.Sprintf("person%d@exampleton.ac.uk", i)
		addresses = append(addresses, person)
		o.Must(http.StatusOK, o.Do("PUT", "/v1/organisations/"+a+"/contacts", ops, contacts(person)))
		var wg sync.WaitGroup
		var erased, changed *http.Response
		var erasedBody []byte
		wg.Go(func() {
			r := o.Do("POST", "/v1/ops/erasures", ops, map[string]any{"email": person})
			erased, erasedBody = &http.Response{StatusCode: r.Status}, r.Body
		})
		wg.Go(func() {
			time.Sleep(time.Duration(i%5) * time.Millisecond)
			changed = &http.Response{StatusCode: o.Do("PUT", "/v1/organisations/"+b+"/contacts", ops, contacts(person)).Status}
		})
		wg.Wait()
		if erased.StatusCode != http.StatusOK {
			t.Fatalf("round %d: the erasure answered %d: %s", i, erased.StatusCode, erasedBody)
		}
		if changed.StatusCode != http.StatusOK && changed.StatusCode != http.StatusConflict {
			t.Fatalf("round %d: the contacts change answered %d", i, changed.StatusCode)
		}
	}
	// Every erased address is gone from the stream the other services read, but
	// where a change after the erasure named the person anew.
	testenv.Eventually(t, 10*time.Second, func() error {
		stream := strings.ToLower(o.streamText(t, events.StreamSignatory))
		current := string(o.Must(http.StatusOK, o.Do("GET", "/v1/organisations/"+b, ops, nil)).Body)
		for _, person := range addresses {
			if strings.Contains(stream, person) && !strings.Contains(current, person) {
				return fmt.Errorf("the stream still carries %s, erased", person)
			}
		}
		return nil
	})
}
