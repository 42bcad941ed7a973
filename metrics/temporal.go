package metrics

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// TemporalHandler exposes the Temporal SDK's metrics in the registry.
// Prometheus wants one label set per metric name; the SDK's first use of a
// name fixes its labels, later uses fill missing labels with "" and drop
// unknown ones rather than fail.
type TemporalHandler struct {
	reg  *registry
	tags map[string]string
}

type registry struct {
	r          prometheus.Registerer
	mu         sync.Mutex
	counters   map[string]*labeled[*prometheus.CounterVec]
	gauges     map[string]*labeled[*prometheus.GaugeVec]
	histograms map[string]*labeled[*prometheus.HistogramVec]
}

type labeled[V any] struct {
	vec    V
	labels []string
}

var _ client.MetricsHandler = TemporalHandler{}

// TemporalMetrics returns the SDK handler for this registry.
func (m *Metrics) TemporalMetrics() client.MetricsHandler {
	return TemporalHandler{reg: &registry{r: m.Registry, counters: map[string]*labeled[*prometheus.CounterVec]{},
		gauges: map[string]*labeled[*prometheus.GaugeVec]{}, histograms: map[string]*labeled[*prometheus.HistogramVec]{}}}
}

// WithTags returns a handler whose metrics carry the tags too.
func (h TemporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[sanitize(k)] = v
	}
	return TemporalHandler{reg: h.reg, tags: merged}
}

func (h TemporalHandler) labelNames() []string {
	names := make([]string, 0, len(h.tags))
	for k := range h.tags {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func (h TemporalHandler) values(labels []string) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = h.tags[l]
	}
	return out
}

// Counter returns a Prometheus counter named <name>_total.
func (h TemporalHandler) Counter(name string) client.MetricsCounter {
	name = sanitize(name) + "_total"
	h.reg.mu.Lock()
	defer h.reg.mu.Unlock()
	l, ok := h.reg.counters[name]
	if !ok {
		l = &labeled[*prometheus.CounterVec]{vec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "Temporal SDK counter " + name}, h.labelNames()), labels: h.labelNames()}
		if err := h.reg.r.Register(l.vec); err != nil {
			return client.MetricsNopHandler.Counter(name)
		}
		h.reg.counters[name] = l
	}
	return counter{l.vec.WithLabelValues(h.values(l.labels)...)}
}

// Gauge returns a Prometheus gauge.
func (h TemporalHandler) Gauge(name string) client.MetricsGauge {
	name = sanitize(name)
	h.reg.mu.Lock()
	defer h.reg.mu.Unlock()
	l, ok := h.reg.gauges[name]
	if !ok {
		l = &labeled[*prometheus.GaugeVec]{vec: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Temporal SDK gauge " + name}, h.labelNames()), labels: h.labelNames()}
		if err := h.reg.r.Register(l.vec); err != nil {
			return client.MetricsNopHandler.Gauge(name)
		}
		h.reg.gauges[name] = l
	}
	return gauge{l.vec.WithLabelValues(h.values(l.labels)...)}
}

// Timer returns a Prometheus histogram named <name>_seconds.
func (h TemporalHandler) Timer(name string) client.MetricsTimer {
	name = strings.TrimSuffix(sanitize(name), "_latency") + "_seconds"
	h.reg.mu.Lock()
	defer h.reg.mu.Unlock()
	l, ok := h.reg.histograms[name]
	if !ok {
		l = &labeled[*prometheus.HistogramVec]{vec: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: "Temporal SDK latency " + name,
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, h.labelNames()), labels: h.labelNames()}
		if err := h.reg.r.Register(l.vec); err != nil {
			return client.MetricsNopHandler.Timer(name)
		}
		h.reg.histograms[name] = l
	}
	return timer{l.vec.WithLabelValues(h.values(l.labels)...)}
}

type counter struct{ c prometheus.Counter }

func (c counter) Inc(n int64) { c.c.Add(float64(n)) }

type gauge struct{ g prometheus.Gauge }

func (g gauge) Update(v float64) { g.g.Set(v) }

type timer struct{ o prometheus.Observer }

func (t timer) Record(d time.Duration) { t.o.Observe(d.Seconds()) }

var invalid = regexp.MustCompile(`[^a-zA-Z0-9_]`)

func sanitize(name string) string { return invalid.ReplaceAllString(name, "_") }
