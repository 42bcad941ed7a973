package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/models"
)

var echoParam = regexp.MustCompile(`:([a-z_]+)`)

// TestOpenAPIMatchesTheRouter: every route the server answers is in the
// document and every documented operation is a route, so the contract cannot
// drift from the code unnoticed.
func TestOpenAPIMatchesTheRouter(t *testing.T) {
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPIJSON, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	e := New(Deps{Config: config.Default(), DevMailbox: false})
	served := map[string]bool{}
	for _, r := range e.Routes() {
		if r.Path == "/docs/redoc.standalone.js" || strings.HasPrefix(r.Name, "github.com/labstack") {
			continue
		}
		served[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not in api/openapi.yaml: %v\ndocumented but not served: %v", missing, extra)
	}
}

func TestDocsPageWorksOffline(t *testing.T) {
	e := New(Deps{Config: config.Default(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for path, want := range map[string]string{
		"/openapi.json":                 `"openapi":"3.0.3"`,
		"/docs":                         `<script src="/docs/redoc.standalone.js">`,
		"/docs/redoc.standalone.js":     "Redoc",
		"/rules/partnership-not-active": "partnership",
	} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, rec.Code, want)
		}
		if path == "/docs" {
			// The vendored bundle names Redoc's logo on a CDN; the policy keeps the page to this server.
			csp := rec.Header().Get("Content-Security-Policy")
			if strings.Contains(csp, "http") || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "img-src 'self' data:") {
				t.Errorf("/docs CSP lets the page load from elsewhere: %s", csp)
			}
			if strings.Contains(rec.Body.String(), "https://") {
				t.Errorf("/docs refers to another site")
			}
		}
	}
}

// TestWebhookCatalogueIsDocumented: x-webhooks documents exactly the event
// types the code delivers (models.WebhookEventTypes).
func TestWebhookCatalogueIsDocumented(t *testing.T) {
	var doc struct {
		Webhooks map[string]any `json:"x-webhooks"`
	}
	if err := json.Unmarshal(openAPIJSON, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for k := range doc.Webhooks {
		documented = append(documented, k)
	}
	slices.Sort(documented)
	if want := models.WebhookCatalogue(); !slices.Equal(documented, want) {
		t.Errorf("x-webhooks lists %v\nthe code delivers %v", documented, want)
	}
}
