package api

import (
	"mime"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// A bulk job carries up to 10,000 rows, as JSON or as a CSV upload: its
// route takes a larger body than the others, and CSV besides JSON.

const (
	bulkJobsPath = "/v1/bulk-jobs"
	maxBulkBody  = "4M" // 10,000 rows of a customer id, a company name and an e-mail address
	mimeTextCSV  = "text/csv"
)

// bodyLimit bounds every request body: 64 KiB, or maxBulkBody for a new bulk job.
func bodyLimit() echo.MiddlewareFunc {
	small, large := middleware.BodyLimit(maxBody), middleware.BodyLimit(maxBulkBody)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		s, l := small(next), large(next)
		return func(c echo.Context) error {
			if isBulkUpload(c.Request()) {
				return l(c)
			}
			return s(c)
		}
	}
}

func isBulkUpload(req *http.Request) bool {
	return req.Method == http.MethodPost && req.URL.Path == bulkJobsPath
}

// isCSVBody tells a CSV upload to an operation that takes one. Its body is
// parsed by the handler (header row, columns, at most 10,000 rows), which
// names the problems better than a schema of one string could.
func isCSVBody(req *http.Request, op *specOperation) bool {
	body := op.route.Operation.RequestBody
	if body == nil || body.Value.Content.Get(mimeTextCSV) == nil {
		return false
	}
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	return err == nil && mt == mimeTextCSV
}

var csvValidationOptions = func() *openapi3filter.Options {
	o := *validationOptions
	o.ExcludeRequestBody = true
	return &o
}()
