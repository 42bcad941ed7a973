package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
)

// apiKeyStore is what the API key and partner-disabling handlers read and write.
type apiKeyStore interface {
	APIKeys(ctx context.Context, partnerID string) ([]models.APIKey, error)
	CreateAPIKey(ctx context.Context, k *models.APIKey) error
	DisablePartner(ctx context.Context, id string) error
	RevokeAPIKey(ctx context.Context, partnerID, keyID string, keepOne bool) error
}

// touchEvery bounds the writes that record a key's last use: at most one a
// minute per key, decided from the row already read to authenticate, so it
// holds across API replicas without shared state.
const touchEvery = time.Minute

type apiKeyIDKey struct{}

// currentKeyID is the ID of the API key this request was made with.
func currentKeyID(ctx context.Context) string {
	id, _ := ctx.Value(apiKeyIDKey{}).(string)
	return id
}

// newAPIKey mints a key: the key itself is returned once, only its hash kept.
func newAPIKey(partnerID string, expiresAt *time.Time) (string, models.APIKey) {
	key, hash := secret.New(secret.APIKeyPrefix)
	return key, models.APIKey{ID: newID(), PartnerID: partnerID, Hash: hash, Last4: key[len(key)-4:], ExpiresAt: expiresAt}
}

func apiKeyView(k models.APIKey, current string) oapi.ApiKey {
	return oapi.ApiKey{Id: k.ID, Last4: k.Last4, CreatedAt: k.CreatedAt, ExpiresAt: valueOf(k.ExpiresAt),
		LastUsedAt: valueOf(k.LastUsedAt), Current: k.ID == current}
}

// ListApiKeys shows the caller's active keys, never the keys themselves.
func (s *Server) ListApiKeys(ctx context.Context, _ oapi.ListApiKeysRequestObject) (oapi.ListApiKeysResponseObject, error) {
	keys, err := s.store.APIKeys(ctx, currentPartner(ctx).ID)
	if err != nil {
		return nil, err
	}
	current := currentKeyID(ctx)
	return oapi.ListApiKeys200JSONResponse{Items: views(keys, func(k models.APIKey) oapi.ApiKey { return apiKeyView(k, current) })}, nil
}

// CreateApiKey adds a key (shown once): roll it out, then revoke the old one.
func (s *Server) CreateApiKey(ctx context.Context, request oapi.CreateApiKeyRequestObject) (oapi.CreateApiKeyResponseObject, error) {
	me := currentPartner(ctx)
	var expiresAt *time.Time
	if request.Body != nil && !request.Body.ExpiresAt.IsZero() {
		at := request.Body.ExpiresAt.UTC()
		if !at.After(time.Now()) {
			return nil, validationProblem([]FieldError{{Field: "expires_at", Message: "must be in the future"}})
		}
		expiresAt = &at
	}
	key, k := newAPIKey(me.ID, expiresAt)
	if err := s.store.CreateAPIKey(ctx, &k); err != nil {
		if errors.Is(err, store.ErrTooManyKeys) {
			return nil, problem(http.StatusConflict, CodeConflict, "you hold two active API keys already, the most allowed: "+
				"revoke the one you no longer use (DELETE /v1/me/api-keys/{id}) first")
		}
		return nil, err
	}
	v := apiKeyView(k, currentKeyID(ctx))
	return oapi.CreateApiKey201JSONResponse{
		Body:    oapi.NewApiKey{Id: v.Id, Last4: v.Last4, CreatedAt: v.CreatedAt, ExpiresAt: v.ExpiresAt, ApiKey: key},
		Headers: oapi.CreateApiKey201ResponseHeaders{Location: "/v1/me/api-keys"},
	}, nil
}

// RevokeApiKey revokes one of the caller's keys, never its last active one.
func (s *Server) RevokeApiKey(ctx context.Context, request oapi.RevokeApiKeyRequestObject) (oapi.RevokeApiKeyResponseObject, error) {
	err := s.store.RevokeAPIKey(ctx, currentPartner(ctx).ID, request.Id, true)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundProblem("API key")
	case errors.Is(err, store.ErrLastKey):
		detail := "this is your only active API key; create a new one (POST /v1/me/api-keys) before revoking it"
		if request.Id == currentKeyID(ctx) {
			detail = "this is the key you are using and your only active one; create a new one (POST /v1/me/api-keys) before revoking it"
		}
		return nil, problem(http.StatusConflict, CodeConflict, detail)
	case err != nil:
		return nil, err
	}
	return oapi.RevokeApiKey204Response{}, nil
}

// AdminRevokeApiKey: an operator revokes any key (a leaked one), even the last.
func (s *Server) AdminRevokeApiKey(ctx context.Context, request oapi.AdminRevokeApiKeyRequestObject) (oapi.AdminRevokeApiKeyResponseObject, error) {
	if err := s.store.RevokeAPIKey(ctx, request.Id, request.KeyId, false); errors.Is(err, store.ErrNotFound) {
		return nil, notFoundProblem("API key")
	} else if err != nil {
		return nil, err
	}
	return oapi.AdminRevokeApiKey204Response{}, nil
}

// DisablePartner: an operator shuts a partner out; its keys are refused.
func (s *Server) DisablePartner(ctx context.Context, request oapi.DisablePartnerRequestObject) (oapi.DisablePartnerResponseObject, error) {
	if err := s.store.DisablePartner(ctx, request.Id); errors.Is(err, store.ErrNotFound) {
		return nil, notFoundProblem("partner")
	} else if err != nil {
		return nil, err
	}
	return oapi.DisablePartner204Response{}, nil
}
