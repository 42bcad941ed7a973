package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Webhooks are the instruments of outbound webhook delivery. A nil
// *Webhooks records nothing, so tests need not build one.
type Webhooks struct {
	deliveries     *prometheus.CounterVec
	attempt        prometheus.Histogram
	eventToDeliver prometheus.Histogram
	disabled       prometheus.Counter
}

// NewWebhooks registers the webhook instruments in the registry; call it once
// per process (the worker that runs the dispatcher).
func (m *Metrics) NewWebhooks() *Webhooks {
	w := &Webhooks{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onboarding_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome: succeeded, retry (failed, will retry), failed (given up), gone (410, endpoint disabled).",
		}, []string{"outcome"}),
		attempt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "onboarding_webhook_delivery_duration_seconds", Help: "Latency of one webhook HTTP attempt.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		eventToDeliver: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "onboarding_webhook_event_to_delivery_seconds", Help: "Time from a timeline event to its successful delivery.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 36000, 259200},
		}),
		disabled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "onboarding_webhook_endpoints_disabled_total", Help: "Webhook endpoints disabled by delivery (410 Gone, or failing for days).",
		}),
	}
	m.Registry.MustRegister(w.deliveries, w.attempt, w.eventToDeliver, w.disabled)
	return w
}

// Delivery counts one attempt's outcome.
func (w *Webhooks) Delivery(outcome string) {
	if w != nil {
		w.deliveries.WithLabelValues(outcome).Inc()
	}
}

// ObserveAttempt records one HTTP attempt's latency.
func (w *Webhooks) ObserveAttempt(d time.Duration) {
	if w != nil {
		w.attempt.Observe(d.Seconds())
	}
}

// ObserveEventToDelivery records the time from the event to its delivery.
func (w *Webhooks) ObserveEventToDelivery(d time.Duration) {
	if w != nil {
		w.eventToDeliver.Observe(d.Seconds())
	}
}

// Disabled counts an endpoint disabled by delivery.
func (w *Webhooks) Disabled() {
	if w != nil {
		w.disabled.Inc()
	}
}
