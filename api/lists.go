package api

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

// Reading lists and single objects for the calling partner: pages, the
// ?status= filter, views, and hiding what the partner is not party to.

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

// listByStatus reads one page of the calling partner's objects, filtered by
// ?status= (one of the kind's statuses; the edge checked it against the spec).
func listByStatus[T any](ctx context.Context, status string, limit int, cursor string, kind models.Lifecycle,
	list func(ctx context.Context, partnerID, status string, page store.Page) ([]T, string, error)) ([]T, string, error) {
	pg, err := pageOf(limit, cursor)
	if err != nil {
		return nil, "", err
	}
	if status, err = statusFilter(status, kind.Statuses...); err != nil {
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
