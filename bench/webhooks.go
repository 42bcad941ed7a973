package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// WebhookReport is the outbound webhook delivery measured during the
// end-to-end run: every invitation's events to each of the reseller's endpoints.
type WebhookReport struct {
	Endpoints       int     `json:"endpoints"`
	Expected        int     `json:"expected"`
	Delivered       int     `json:"delivered"`
	Duplicates      int     `json:"duplicates"`
	PerSecond       float64 `json:"deliveries_per_second"`
	EventToDelivery Latency `json:"event_to_delivery_ms"`
}

// hookSink is the partners' receiver: it acknowledges every message and
// times it from the event's timestamp.
type hookSink struct {
	srv         *http.Server
	url         string
	mu          sync.Mutex
	seen        map[string]bool
	dups        int
	first, last time.Time
	latency     samples
}

func startHookSink() (*hookSink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &hookSink{url: "http://" + l.Addr().String() + "/hooks", seen: map[string]bool{}}
	s.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(r.Body)
		var msg struct {
			Timestamp time.Time `json:"timestamp"`
		}
		_ = json.Unmarshal(body, &msg)
		key := r.URL.Path + "?" + r.URL.RawQuery + " " + r.Header.Get("webhook-id")
		s.mu.Lock()
		if s.seen[key] {
			s.dups++
		} else {
			s.seen[key] = true
			s.latency.add(at.Sub(msg.Timestamp))
		}
		if s.first.IsZero() {
			s.first = at
		}
		s.last = at
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

func (s *hookSink) delivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// subscribe gives the reseller n endpoints on the sink, each for every event.
func subscribe(ctx context.Context, h *httpClient, key, url string, n int) error {
	for i := range n {
		if _, err := h.post(ctx, "/v1/webhook-endpoints", key, map[string]any{"url": fmt.Sprintf("%s?endpoint=%d", url, i), "events": []string{"*"}}); err != nil {
			return err
		}
	}
	return nil
}

// report waits (bounded) for the expected deliveries and summarises them.
func (s *hookSink) report(ctx context.Context, endpoints, expected int, wait time.Duration) *WebhookReport {
	deadline := time.Now().Add(wait)
	for s.delivered() < expected && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
	}
	s.mu.Lock()
	r := &WebhookReport{Endpoints: endpoints, Expected: expected, Delivered: len(s.seen), Duplicates: s.dups}
	if span := s.last.Sub(s.first).Seconds(); span > 0 {
		r.PerSecond = float64(len(s.seen)) / span
	}
	s.mu.Unlock()
	r.EventToDelivery = s.latency.summary()
	return r
}

func (s *hookSink) close() { _ = s.srv.Close() }
