package platform

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrapeBudget bounds the work a gauge worked out at scrape time may do: Prometheus
// gives up on a scrape after 10 s by default, and the other metrics must still go.
const scrapeBudget = 5 * time.Second

// GaugeFunc registers a gauge with no labels whose value is worked out at each
// scrape by value, within scrapeBudget. When value fails, the gauge is left out of
// that scrape (and the failure logged) rather than reported wrong. value must be
// cheap and bounded: Prometheus calls it every scrape interval, on every replica.
func (p *Platform) GaugeFunc(name, help string, value func(context.Context) (float64, error)) error {
	desc := prometheus.NewDesc(name, help, nil, nil)
	return p.Telemetry.Registry.Register(&scrapeCollector{desc: desc, p: p, collect: func(ctx context.Context, ch chan<- prometheus.Metric) error {
		v, err := value(ctx)
		if err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v)
		return nil
	}})
}

// scrapeCollector reports what collect works out at scrape time.
type scrapeCollector struct {
	desc    *prometheus.Desc
	p       *Platform
	collect func(ctx context.Context, ch chan<- prometheus.Metric) error
}

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeBudget)
	defer cancel()
	if err := c.collect(ctx, ch); err != nil {
		c.p.Logger.WarnContext(ctx, "a metric could not be worked out for this scrape", "metric", c.desc.String(), "error", err)
	}
}

// registerMetrics registers the metrics every service has: its outbox backlog and
// its projections' lag (the consumers' counters are registered by bus.NewMetrics).
func (p *Platform) registerMetrics(ownStream string) error {
	outbox := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tc_outbox_pending_events",
		Help: "Events stored and not yet published to NATS by this replica's relay.",
	}, func() float64 { return float64(p.Events.Pending()) })
	if err := p.Telemetry.Registry.Register(outbox); err != nil {
		return err
	}
	// A projection is a consumer of the service's own events (DESIGN.md: query views
	// are projections the service keeps from its own events). Its lag is the server's
	// answer, the same on every replica, so the dashboard takes the max.
	lag := prometheus.NewDesc("tc_projection_lag_seconds",
		"How far a projection (a consumer of the service's own events) is behind: the age of the newest event it has applied behind the newest stored; 0 when it has applied every one.",
		[]string{"projection"}, nil)
	return p.Telemetry.Registry.Register(&scrapeCollector{desc: lag, p: p, collect: func(ctx context.Context, ch chan<- prometheus.Metric) error {
		var failed error
		for _, c := range p.consumers {
			if c.Stream() != ownStream {
				continue
			}
			d, ok, err := c.Lag(ctx)
			if err != nil {
				failed = err
				continue
			}
			if ok {
				ch <- prometheus.MustNewConstMetric(lag, prometheus.GaugeValue, d.Seconds(), c.Durable())
			}
		}
		return failed
	}})
}
