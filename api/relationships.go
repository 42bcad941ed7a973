package api

import (
	"context"
	"errors"
	"time"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

// relationshipStore is what the relationship handlers read and write.
type relationshipStore interface {
	EndRelationship(ctx context.Context, id, by, reason string, at time.Time) (r models.Relationship, ended bool, err error)
	Events(ctx context.Context, subjectID string) ([]models.OnboardingEvent, error)
	Relationship(ctx context.Context, id string) (models.Relationship, error)
}

// ownRelationship loads a relationship the caller is party to (its reseller
// or its provider); anyone else is told it does not exist.
func (s *Server) ownRelationship(ctx context.Context, id string) (models.Relationship, error) {
	r, err := s.store.Relationship(ctx, id)
	me := currentPartner(ctx).ID
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.ResellerID != me && r.ProviderID != me) {
		return r, notFoundProblem("relationship")
	}
	return r, err
}

// relationshipDetail is a relationship with its timeline.
func (s *Server) relationshipDetail(ctx context.Context, r models.Relationship) (oapi.Relationship, error) {
	out := relationshipView(r)
	out.EndedAt, out.EndedBy, out.EndReason = valueOf(r.EndedAt), r.EndedBy, r.EndReason
	events, err := s.store.Events(ctx, r.ID)
	if err != nil {
		return out, err
	}
	out.Events = toEvents(events)
	return out, nil
}

func (s *Server) GetRelationship(ctx context.Context, request oapi.GetRelationshipRequestObject) (oapi.GetRelationshipResponseObject, error) {
	r, err := s.ownRelationship(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	out, err := s.relationshipDetail(ctx, r)
	if err != nil {
		return nil, err
	}
	return oapi.GetRelationship200JSONResponse{RelationshipBodyJSONResponse: oapi.RelationshipBodyJSONResponse(out)}, nil
}

// EndRelationship records that a party ended the relationship. The timeline
// event it writes is what both parties' webhook endpoints receive.
func (s *Server) EndRelationship(ctx context.Context, request oapi.EndRelationshipRequestObject) (oapi.EndRelationshipResponseObject, error) {
	r, err := s.ownRelationship(ctx, request.Id)
	if err != nil {
		return nil, err
	}
	var reason string
	if request.Body != nil {
		reason = request.Body.Reason
	}
	if err := validReason(reason, 1000); err != nil {
		return nil, err
	}
	if r.Status == models.RelationshipActive {
		if r, _, err = s.store.EndRelationship(ctx, r.ID, currentPartner(ctx).ID, reason, time.Now()); err != nil {
			return nil, err
		}
	}
	out, err := s.relationshipDetail(ctx, r)
	if err != nil {
		return nil, err
	}
	return oapi.EndRelationship200JSONResponse{RelationshipBodyJSONResponse: oapi.RelationshipBodyJSONResponse(out)}, nil
}
