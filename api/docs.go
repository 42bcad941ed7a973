package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	"github.com/csp-onboarding/onboarding/web"
)

// OpenAPIYAML is the API's contract (api/openapi.yaml).
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// openAPIJSON is the same document as JSON, converted once.
var openAPIJSON = func() []byte {
	var doc map[string]any
	if err := yaml.Unmarshal(OpenAPIYAML, &doc); err != nil {
		panic(fmt.Sprintf("api/openapi.yaml does not parse: %v", err)) // caught by the tests, never at run time
	}
	out, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("api/openapi.yaml does not convert to JSON: %v", err))
	}
	return out
}()

const docsPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>CSP onboarding API</title></head>
<body><redoc spec-url="/openapi.json" hide-download-button="false"></redoc>
<script src="/docs/redoc.standalone.js"></script></body></html>`

// Redoc runs scripts from this server and workers from blob: URLs.
const docsCSP = "default-src 'none'; script-src 'self'; worker-src blob:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:"

func (s *Server) openAPI(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, openAPIJSON)
}

func (s *Server) docs(c echo.Context) error {
	c.Response().Header().Set("Content-Security-Policy", docsCSP)
	return c.HTML(http.StatusOK, docsPage)
}

func (s *Server) redocJS(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Blob(http.StatusOK, "application/javascript", web.RedocJS)
}
