package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
)

// The OpenAPI document is the contract at the edge: before any handler runs,
// each request is authenticated as its operation's `security` says and its
// parameters and body are validated against the operation's schemas. The
// handlers are left with what a schema cannot say (plain-text rules, domain
// names, the business rules).

// spec is api/openapi.yaml, loaded and checked once.
var spec = func() *openapi3.T {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPIYAML)
	if err == nil {
		err = doc.Validate(loader.Context)
	}
	if err != nil {
		panic(fmt.Sprintf("api/openapi.yaml is not a valid OpenAPI document: %v", err)) // caught by the tests, never at run time
	}
	return doc
}()

// Security schemes of the document.
const (
	securityPartnerKey = "partnerKey"
	securityAdminToken = "adminToken"
)

// specOperation is one documented operation, found by Echo's route.
type specOperation struct {
	route    *routers.Route
	security string // "" for a public operation
	jsonBody bool
}

var specPathParam = regexp.MustCompile(`\{([^}]+)\}`)

// specOperations maps "METHOD /echo/:path" to its operation.
var specOperations = func() map[string]*specOperation {
	ops := map[string]*specOperation{}
	for path, item := range spec.Paths.Map() {
		echoPath := specPathParam.ReplaceAllString(path, ":$1")
		for method, op := range item.Operations() {
			security := spec.Security
			if op.Security != nil {
				security = *op.Security
			}
			o := &specOperation{route: &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op}}
			if len(security) > 0 {
				for name := range security[0] { // one scheme per requirement in this document
					o.security = name
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value.Content.Get(echo.MIMEApplicationJSON) != nil {
				o.jsonBody = true
			}
			ops[method+" "+echoPath] = o
		}
	}
	return ops
}()

var validationOptions = &openapi3filter.Options{
	MultiError:          true,
	SkipSettingDefaults: true,
	// Authentication happened before validation, by enforceSpec itself.
	AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
}

// enforceSpec authenticates and validates every documented operation.
// Authentication comes first: a caller without credentials learns nothing
// about the shape a route expects.
func (s *Server) enforceSpec(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		op, ok := specOperations[c.Request().Method+" "+c.Path()]
		if !ok {
			return next(c) // unknown routes and methods: Echo's 404 and 405
		}
		switch op.security {
		case securityAdminToken:
			if err := s.authenticateAdmin(c); err != nil {
				return err
			}
		case securityPartnerKey:
			if err := s.authenticatePartner(c); err != nil {
				return err
			}
		}
		if err := validateRequest(c, op); err != nil {
			return err
		}
		return next(c)
	}
}

func validateRequest(c echo.Context, op *specOperation) error {
	req := c.Request()
	csvBody := isCSVBody(req, op)
	options := validationOptions
	if csvBody {
		options = csvValidationOptions
	}
	if op.jsonBody && !csvBody {
		if err := prepareJSONBody(req); err != nil {
			return err
		}
	}
	params := make(map[string]string, len(c.ParamNames()))
	for i, name := range c.ParamNames() {
		params[name] = c.ParamValues()[i]
	}
	err := openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: op.route, Options: options,
	})
	if err != nil {
		return specProblem(err)
	}
	if op.jsonBody && !csvBody {
		return strictBody(req, op)
	}
	return nil
}

// prepareJSONBody reads the body once (within the size limit) so that it can
// be validated and then bound. An empty body reads as {} so that missing
// fields are named one by one; a body sent without a Content-Type is taken
// as the JSON every operation here expects.
func prepareJSONBody(req *http.Request) error {
	var data []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		data, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			var maxErr *http.MaxBytesError
			var he *echo.HTTPError
			switch {
			case errors.As(err, &maxErr):
				return problem(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "request bodies are limited to 64 KiB")
			case errors.As(err, &he):
				return he
			}
			return problem(http.StatusBadRequest, CodeValidationFailed, "could not read the request body")
		}
	}
	contentType := req.Header.Get(echo.HeaderContentType)
	if len(bytes.TrimSpace(data)) == 0 {
		data, contentType = []byte("{}"), echo.MIMEApplicationJSON
	}
	if contentType == "" {
		contentType = echo.MIMEApplicationJSON
	}
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != echo.MIMEApplicationJSON {
		return notJSONProblem()
	}
	req.Header.Set(echo.HeaderContentType, contentType)
	req.ContentLength = int64(len(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	req.Body, _ = req.GetBody()
	return nil
}

// specProblem turns the validator's findings into one problem that names
// every bad field. A body that is not JSON, or whose values have the wrong
// JSON types, is malformed (400); well-formed values the contract refuses
// are 422.
func specProblem(err error) *Problem {
	var fields []FieldError
	status := http.StatusUnprocessableEntity
	// walk returns a problem that ends the walk, or collects field errors;
	// param is the query, path or header parameter being validated, if any.
	var walk func(err error, param *openapi3.Parameter) *Problem
	walk = func(err error, param *openapi3.Parameter) *Problem {
		var schemaErr *openapi3.SchemaError
		var parseErr *openapi3filter.ParseError
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, inner := range e {
				if p := walk(inner, param); p != nil {
					return p
				}
			}
			return nil
		case *openapi3filter.RequestError:
			switch {
			case e.Parameter != nil:
				return walk(e.Err, e.Parameter)
			case e.RequestBody != nil && errors.As(e.Err, &parseErr):
				return problem(http.StatusBadRequest, CodeValidationFailed, "the body is not valid JSON: "+parseErr.Error())
			case e.RequestBody != nil && e.Err != nil:
				return walk(e.Err, nil)
			}
			return problem(http.StatusBadRequest, CodeValidationFailed, e.Error())
		}
		switch {
		case errors.As(err, &schemaErr):
			field, message := schemaFinding(schemaErr)
			if param != nil {
				field = param.Name
			}
			if schemaErr.SchemaField == "type" {
				if field == "" {
					return problem(http.StatusBadRequest, CodeValidationFailed, message)
				}
				status = http.StatusBadRequest
			}
			fields = append(fields, FieldError{Field: field, Message: message})
		case param != nil:
			// A value that does not even parse as the parameter's type.
			message := "is not in the expected format"
			if param.Schema != nil && param.Schema.Value != nil {
				message = "must be " + numberRange(param.Schema.Value)
			}
			fields = append(fields, FieldError{Field: param.Name, Message: message})
		default:
			return problem(http.StatusBadRequest, CodeValidationFailed, err.Error())
		}
		return nil
	}
	if p := walk(err, nil); p != nil {
		return p
	}
	if len(fields) == 0 {
		return problem(http.StatusBadRequest, CodeValidationFailed, err.Error())
	}
	p := validationProblem(fields)
	p.Status = status
	return p
}

// schemaFinding names the field a schema error is about and says what it
// must be, in the words the handlers use.
func schemaFinding(e *openapi3.SchemaError) (field, message string) {
	path := e.JSONPointer()
	s := e.Schema
	switch e.SchemaField {
	case "required":
		// The missing property is named in the reason: property "x" is missing.
		if name, ok := quoted(e.Reason); ok && (len(path) == 0 || path[len(path)-1] != name) {
			path = append(path, name)
		}
		return fieldPath(path), "is required"
	case "type":
		if len(path) == 0 {
			return "", "the body must be a JSON object"
		}
		return fieldPath(path), "must be " + typeName(s)
	case "maxLength":
		return fieldPath(path), fmt.Sprintf("must be at most %d characters", derefU(s.MaxLength))
	case "minLength":
		return fieldPath(path), fmt.Sprintf("must be at least %d characters", s.MinLength)
	case "minimum", "maximum":
		return fieldPath(path), "must be " + numberRange(s)
	case "minItems", "maxItems":
		return fieldPath(path), fmt.Sprintf("must list %d to %d items", s.MinItems, derefU(s.MaxItems))
	case "enum":
		allowed := make([]string, 0, len(s.Enum))
		for _, v := range s.Enum {
			allowed = append(allowed, fmt.Sprint(v))
		}
		return fieldPath(path), "must be one of " + strings.Join(allowed, ", ")
	case "format":
		if s.Format == "date-time" {
			return fieldPath(path), "must be an RFC 3339 time such as 2026-11-23T10:00:00Z"
		}
		return fieldPath(path), "must be a valid " + s.Format
	}
	return fieldPath(path), e.Reason
}

func typeName(s *openapi3.Schema) string {
	switch {
	case s == nil || s.Type == nil:
		return "a value of another type"
	case s.Type.Is("integer"):
		return "a whole number"
	case s.Type.Is("number"):
		return "a number"
	case s.Type.Is("boolean"):
		return "true or false"
	case s.Type.Is("array"):
		return "an array"
	case s.Type.Is("object"):
		return "an object"
	}
	return "a string"
}

func numberRange(s *openapi3.Schema) string {
	kind := typeName(s)
	switch {
	case s.Min != nil && s.Max != nil:
		return fmt.Sprintf("%s from %g to %g", kind, *s.Min, *s.Max)
	case s.Max != nil:
		return fmt.Sprintf("%s of at most %g", kind, *s.Max)
	case s.Min != nil:
		return fmt.Sprintf("%s of at least %g", kind, *s.Min)
	}
	return kind
}

// fieldPath writes a JSON pointer the way field errors name fields:
// delegated_admin.roles[0].
func fieldPath(path []string) string {
	var b strings.Builder
	for _, p := range path {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func quoted(s string) (string, bool) {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(s[i+1:], '"')
	if j < 0 {
		return "", false
	}
	return s[i+1 : i+1+j], true
}

func derefU(v *uint64) uint64 {
	if v == nil {
		return 0
	}
	return *v
}
