package api

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/metrics"
)

// TestJunkMethodsAndPathsDoNotGrowTheMetrics: audit §2. Each distinct label
// value is a series kept for good, so a client inventing methods and paths
// must not be able to create them.
func TestJunkMethodsAndPathsDoNotGrowTheMetrics(t *testing.T) {
	m := metrics.New()
	e := New(Deps{Config: config.Default(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m})
	paths := []string{"/", "/v1/invitations", "/healthz", "/i/abc", "/no/such/%d", "/v1/partners/%d/x"}
	for i := range 1000 {
		path := paths[i%len(paths)]
		if i%len(paths) >= 4 {
			path = fmt.Sprintf(path, i)
		}
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Method = fmt.Sprintf("JUNK%d", i)
		e.ServeHTTP(httptest.NewRecorder(), req)
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, fmt.Sprintf("/junk/%d", i), nil))
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, f := range families {
		if f.GetName() == "onboarding_http_requests_total" {
			for _, metric := range f.GetMetric() {
				series++
				for _, l := range metric.GetLabel() {
					if l.GetName() == "method" && l.GetValue() != "other" && l.GetValue() != http.MethodGet {
						t.Errorf("method label %q", l.GetValue())
					}
				}
			}
		}
	}
	// routes matched × {GET, other} × a few statuses: a handful, not 2,000.
	if series == 0 || series > 20 {
		t.Fatalf("%d series after 2,000 junk requests", series)
	}
	t.Logf("%d series after 2,000 junk requests", series)
}
