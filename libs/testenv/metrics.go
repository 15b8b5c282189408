package testenv

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics reads the service's /metrics from its admin listener and parses the
// exposition, as Prometheus would.
func (c *Client) Metrics() map[string]*dto.MetricFamily {
	c.TB.Helper()
	r := c.Admin().Do(http.MethodGet, "/metrics", "", nil)
	if r.Status != http.StatusOK {
		c.TB.Fatalf("GET /metrics on the admin listener: status %d: %s", r.Status, r.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		c.TB.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return families
}

// Metric is the value of one series of the family name in the service's /metrics,
// picked by label name, value pairs (a series with other labels besides matches
// too). It returns an error unless exactly one series matches, so that a test can
// poll until the series appears; it fails the test only when /metrics cannot be read.
func (c *Client) Metric(name string, labels ...string) (float64, error) {
	c.TB.Helper()
	return MetricIn(c.Metrics(), name, labels...)
}

// MetricIn is Metric over families already read.
func MetricIn(families map[string]*dto.MetricFamily, name string, labels ...string) (float64, error) {
	f, ok := families[name]
	if !ok {
		return 0, fmt.Errorf("no metric %s", name)
	}
	var found []float64
	for _, m := range f.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			found = append(found, m.GetCounter().GetValue())
		case m.Gauge != nil:
			found = append(found, m.GetGauge().GetValue())
		case m.Untyped != nil:
			found = append(found, m.GetUntyped().GetValue())
		default:
			return 0, fmt.Errorf("metric %s is neither a counter nor a gauge", name)
		}
	}
	switch len(found) {
	case 0:
		return 0, fmt.Errorf("no series of %s with labels %s", name, strings.Join(labels, ","))
	case 1:
		return found[0], nil
	default:
		return 0, fmt.Errorf("%d series of %s with labels %s, want one", len(found), name, strings.Join(labels, ","))
	}
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		ok := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
