package api

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/csp-onboarding/onboarding/store"
)

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

// pageOf is a list's page: the spec bounds ?limit= (absent is 50).
func pageOf(limit int, cursor string) (store.Page, error) {
	p := store.Page{Cursor: cursor, Limit: limit}
	if p.Limit == 0 {
		p.Limit = 50
	}
	if len(p.Cursor) > 64 {
		return p, validationProblem([]FieldError{{Field: "cursor", Message: "is not a cursor this API returned"}})
	}
	return p, nil
}

// statusFilter checks ?status= against the allowed values.
func statusFilter(v string, allowed ...string) (string, error) {
	if v == "" || slices.Contains(allowed, v) {
		return v, nil
	}
	return "", validationProblem([]FieldError{{Field: "status", Message: "must be one of " + strings.Join(allowed, ", ")}})
}

// listByStatus reads one page of the calling partner's objects, filtered by ?status=.
func listByStatus[T any](ctx context.Context, status string, limit int, cursor string, allowed []string,
	list func(ctx context.Context, partnerID, status string, page store.Page) ([]T, string, error)) ([]T, string, error) {
	pg, err := pageOf(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	if status, err = statusFilter(status, allowed...); err != nil {
		return nil, "", err
	}
	return list(ctx, currentPartner(ctx).ID, status, pg)
}

// views converts models to their API shapes; a list is never null.
func views[T, R any](items []T, view func(T) R) []R {
	out := make([]R, 0, len(items))
	for _, it := range items {
		out = append(out, view(it))
	}
	return out
}

// valueOf reads an optional value; absent is the zero value, which the
// generated types leave out of the JSON.
func valueOf[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// partyTo loads an object by its id and hides it — 404, as if it did not
// exist — from a partner that is not party to it.
func partyTo[T any](ctx context.Context, id, what string, load func(context.Context, string) (T, error), parties func(T) (string, string)) (T, error) {
	v, err := load(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return v, notFoundProblem(what)
	}
	if err != nil {
		return v, err
	}
	me := currentPartner(ctx).ID
	if a, b := parties(v); me != a && me != b {
		return v, notFoundProblem(what)
	}
	return v, nil
}
