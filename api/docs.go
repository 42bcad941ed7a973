package api

import (
	_ "embed"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/csp-onboarding/onboarding/web"
)

// OpenAPIYAML is the API's contract (api/openapi.yaml).
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// openAPIJSON is the same document as JSON, from the one loaded copy.
var openAPIJSON = func() []byte {
	out, err := spec.MarshalJSON()
	if err != nil {
		panic(fmt.Sprintf("api/openapi.yaml does not convert to JSON: %v", err)) // caught by the tests, never at run time
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
