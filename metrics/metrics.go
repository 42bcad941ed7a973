// Package metrics holds the product's Prometheus metrics: HTTP requests,
// business counters, gauges of what waits on whom, and a bridge that exposes
// the Temporal SDK's worker and client metrics in the same registry.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/csp-onboarding/onboarding/models"
)

// Metrics is one registry and the product's own instruments.
type Metrics struct {
	Registry *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	started      *prometheus.CounterVec
	ended        *prometheus.CounterVec
	emails       *prometheus.CounterVec
}

// New creates the registry with the Go runtime and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: r,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onboarding_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "onboarding_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onboarding_onboardings_started_total", Help: "Onboardings started, by kind.",
		}, []string{"kind"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onboarding_onboardings_ended_total", Help: "Onboardings that reached a final status (completed, declined, expired, …), by kind.",
		}, []string{"kind", "status"}),
		emails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onboarding_emails_total", Help: "E-mails by outcome: sent, held (no SMTP), deferred (an attempt to retry) or failed (refused for good, or given up after MAIL_GIVE_UP).",
		}, []string{"outcome"}),
	}
	r.MustRegister(m.httpRequests, m.httpDuration, m.started, m.ended, m.emails)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// ObserveHTTP records one request. Labels come from closed sets only, since
// every distinct label value is a series kept for good: the method is one of
// the standard ones or "other", and the caller passes a route template (or
// "unmatched"), never a path.
func (m *Metrics) ObserveHTTP(route, method string, status int, d time.Duration) {
	method = MethodLabel(method)
	if status < 100 || status > 599 {
		status = 0
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// MethodLabel maps an HTTP method to a closed set: a client may send any
// token as its method.
func MethodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// OnboardingStarted counts a new onboarding.
func (m *Metrics) OnboardingStarted(kind string) { m.started.WithLabelValues(kind).Inc() }

// OnboardingEnded counts an onboarding reaching a final status.
func (m *Metrics) OnboardingEnded(kind, status string) { m.ended.WithLabelValues(kind, status).Inc() }

// Email counts an e-mail outcome.
func (m *Metrics) Email(outcome string) { m.emails.WithLabelValues(outcome).Inc() }

// WaitingCounter counts, by kind, the onboardings waiting on someone.
type WaitingCounter interface {
	CountWaiting(ctx context.Context) (map[string]int64, error)
}

// RegisterWaiting adds the gauge onboarding_waiting, read from the database
// at each scrape so that every replica reports the same truth.
func (m *Metrics) RegisterWaiting(counter WaitingCounter, logger *slog.Logger) {
	m.Registry.MustRegister(&waitingCollector{counter: counter, logger: logger,
		desc: prometheus.NewDesc("onboarding_waiting", "Onboardings currently waiting on a customer, partner or operator, by kind.", []string{"kind"}, nil)})
}

type waitingCollector struct {
	counter WaitingCounter
	logger  *slog.Logger
	desc    *prometheus.Desc
}

func (w *waitingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- w.desc }

func (w *waitingCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := w.counter.CountWaiting(ctx)
	if err != nil {
		w.logger.Warn("Could not count waiting onboardings for /metrics", "error", err)
		return
	}
	for _, kind := range WaitingKinds {
		ch <- prometheus.MustNewConstMetric(w.desc, prometheus.GaugeValue, float64(counts[kind]), kind)
	}
}

// WaitingKinds are the kinds the waiting gauge reports, always all of them:
// the registry's kinds that wait on a party (models/kinds.go).
var WaitingKinds = models.WaitingKinds()
