package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/csp-onboarding/onboarding/store"
)

// decodeJSON reads a JSON object body into v; malformed JSON is a 400 that
// says where it went wrong. An empty body reads as {}.
func decodeJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return problem(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "request bodies are limited to 64 KiB")
		}
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return problem(http.StatusBadRequest, CodeValidationFailed, "could not read the request body")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return problem(http.StatusBadRequest, CodeValidationFailed, describeJSONError(err))
	}
	return nil
}

func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("the body is not valid JSON (at byte %d): %v", syntax.Offset, syntax)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return "the body must be a JSON object"
		}
		return fmt.Sprintf("field %s must be a %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
	default:
		return "the body is not valid JSON: " + err.Error()
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "int32", "float64":
		return "number"
	case "slice":
		return "array"
	default:
		return "object"
	}
}

// fieldErrors collects validation failures.
type fieldErrors []FieldError

func (f *fieldErrors) add(field, msg string) { *f = append(*f, FieldError{Field: field, Message: msg}) }

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return validationProblem(f)
}

func (f *fieldErrors) requireText(field, v string, max int) {
	switch {
	case strings.TrimSpace(v) == "":
		f.add(field, "is required")
	case utf8.RuneCountInString(v) > max:
		f.add(field, fmt.Sprintf("must be at most %d characters", max))
	case hasControl(v, false):
		f.add(field, "must not contain control characters")
	}
}

func (f *fieldErrors) requireEmail(field, v string) {
	if strings.TrimSpace(v) == "" {
		f.add(field, "is required")
		return
	}
	if !validEmail(v) {
		f.add(field, "must be an e-mail address such as admin@contoso.com")
	}
}

func validEmail(v string) bool {
	if len(v) > 254 {
		return false
	}
	addr, err := mail.ParseAddress(v)
	if err != nil || addr.Address != v || addr.Name != "" {
		return false
	}
	at := strings.LastIndexByte(v, '@')
	return at > 0 && strings.Contains(v[at+1:], ".")
}

func hasControl(s string, allowNewlines bool) bool {
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			if allowNewlines {
				continue
			}
			return true
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return true
		}
	}
	return false
}

var (
	markupPattern = regexp.MustCompile(`<\s*[a-zA-Z!/?]|&[a-zA-Z]+;|&#\d+;|\]\(`)
	urlPattern    = regexp.MustCompile(`(?i)(://|\bwww\.|\bmailto:|\bjavascript:|\bdata:[a-z]+/|\b[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}/)`)
	// Mail clients turn bare domains into links: common TLDs and country codes.
	bareDomainPattern = regexp.MustCompile(`(?i)\b[a-z0-9\-]+(\.[a-z0-9\-]+)*\.(com|net|org|info|biz|io|co|app|dev|xyz|top|site|online|link|click|shop|example|[a-z]{2})\b`)
	emailPattern      = regexp.MustCompile(`(?i)[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}`)
)

// MaxMessageLength bounds the partner's e-mail text.
const MaxMessageLength = 2000

// validateMessage enforces DESIGN §3.1: plain text, bounded, no markup and no
// link but the personal one.
func validateMessage(f *fieldErrors, msg string) {
	switch {
	case utf8.RuneCountInString(msg) > MaxMessageLength:
		f.add("message", fmt.Sprintf("must be at most %d characters of plain text", MaxMessageLength))
	case hasControl(msg, true):
		f.add("message", "must be plain text without control characters")
	case markupPattern.MatchString(msg):
		f.add("message", "must be plain text: HTML, markdown links and entities are not allowed")
	case urlPattern.MatchString(msg), bareDomainPattern.MatchString(emailPattern.ReplaceAllString(msg, " ")):
		f.add("message", "must not contain links or web addresses; the personal link is added for you (place it with {{link}})")
	case strings.Contains(withoutLink(msg), "{{") || strings.Contains(withoutLink(msg), "}}"):
		f.add("message", "the only placeholder allowed is {{link}}")
	}
}

func withoutLink(msg string) string { return strings.ReplaceAll(msg, "{{link}}", "") }

// page reads ?cursor= and ?limit= (default 50, at most 200).
func page(c echo.Context) (store.Page, error) {
	p := store.Page{Cursor: c.QueryParam("cursor"), Limit: 50}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return p, validationProblem([]FieldError{{Field: "limit", Message: "must be a whole number from 1 to 200"}})
		}
		p.Limit = n
	}
	if len(p.Cursor) > 64 {
		return p, validationProblem([]FieldError{{Field: "cursor", Message: "is not a cursor this API returned"}})
	}
	return p, nil
}

// statusFilter checks ?status= against the allowed values.
func statusFilter(c echo.Context, allowed ...string) (string, error) {
	v := c.QueryParam("status")
	if v == "" {
		return "", nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", validationProblem([]FieldError{{Field: "status", Message: "must be one of " + strings.Join(allowed, ", ")}})
}

// listResponse is every list's shape.
type listResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// listByStatus is the handler of a partner's list filtered by ?status=.
func listByStatus[T, R any](statuses []string, list func(ctx context.Context, partnerID, status string, page store.Page) ([]T, string, error), view func(T) R) echo.HandlerFunc {
	return func(c echo.Context) error {
		pg, err := page(c)
		if err != nil {
			return err
		}
		status, err := statusFilter(c, statuses...)
		if err != nil {
			return err
		}
		items, next, err := list(c.Request().Context(), currentPartner(c).ID, status, pg)
		if err != nil {
			return err
		}
		out := listResponse[R]{Items: make([]R, 0, len(items)), NextCursor: next}
		for _, it := range items {
			out.Items = append(out.Items, view(it))
		}
		return c.JSON(http.StatusOK, out)
	}
}

// partyTo loads the route's object by its id and hides it — 404, as if it did
// not exist — from a partner that is not party to it.
func partyTo[T any](c echo.Context, what string, load func(context.Context, string) (T, error), parties func(T) (string, string)) (T, error) {
	v, err := load(c.Request().Context(), c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return v, notFoundProblem(what)
	}
	if err != nil {
		return v, err
	}
	me := currentPartner(c).ID
	if a, b := parties(v); me != a && me != b {
		return v, notFoundProblem(what)
	}
	return v, nil
}
