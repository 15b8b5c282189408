package service

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// The portal's durable consumers are counted on its admin /metrics as the services'
// are: every one has its redeliveries and dead letters from the start (the dashboard's
// redeliveries panel reads the portal's job too), and a message one of them gives up
// on is counted against it.
func TestThePortalsConsumersAreCountedAsTheServicesAre(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	scraped := scrape(t, p.admin)
	for _, c := range p.svc.consumers {
		for _, metric := range []string{"tc_consumer_redeliveries_total", "tc_deadletters_total"} {
			if want := fmt.Sprintf("%s{consumer=%q} 0", metric, c.Durable()); !strings.Contains(scraped, want) {
				t.Errorf("the portal's /metrics has no %s", want)
			}
		}
	}
	// An announcement no consumer can read: no event envelope, no JSON.
	msg := nats.NewMsg(events.SubjectOrganisationAnnounced)
	msg.Data = []byte("not an event")
	if _, err := p.env.JS.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("tc_deadletters_total{consumer=%q} 1", signin.DurableLeads)
	testenv.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(scrape(t, p.admin), want) {
			return fmt.Errorf("the portal's /metrics has no %s", want)
		}
		return nil
	})
}

// scrape returns what admin's /metrics answers.
func scrape(tb testing.TB, admin string) string {
	tb.Helper()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s/metrics: %s", admin, resp.Status)
	}
	return string(body)
}
