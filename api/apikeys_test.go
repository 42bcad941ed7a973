package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// TestAPIKeysHaveALifeCycle: two keys at once, rotation, revocation by the
// partner (never its last key) and by an operator, expiry, a disabled
// partner, and the last use recorded at most once a minute.
func TestAPIKeysHaveALifeCycle(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) { apiKeysLifeCycle(t, d) })
	}
}

func apiKeysLifeCycle(t *testing.T, dialect migrations.Dialect) {
	const admin = "test-admin-token"
	env := newStartEnvOn(t, dialect, func(c *config.Config) { c.AdminToken = admin })
	ctx := context.Background()

	rec := env.call(http.MethodPost, "/v1/admin/partners", admin, `{"name":"Fabrikam","type":"reseller","contact_email":"sales@fabrikam.example"}`)
	var created struct{ ID, APIKey string }
	var raw map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &raw)
	created.ID, _ = raw["id"].(string)
	created.APIKey, _ = raw["api_key"].(string)
	if rec.Code != http.StatusCreated || created.APIKey == "" {
		t.Fatalf("create partner: %d %s", rec.Code, rec.Body)
	}
	key1 := created.APIKey

	type keyList struct {
		Items []struct {
			ID         string     `json:"id"`
			Last4      string     `json:"last4"`
			Current    bool       `json:"current"`
			LastUsedAt *time.Time `json:"last_used_at"`
			ExpiresAt  *time.Time `json:"expires_at"`
		} `json:"items"`
	}
	list := func(key string) keyList {
		t.Helper()
		rec := env.call(http.MethodGet, "/v1/me/api-keys", key, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("list keys: %d %s", rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "csp_key_") {
			t.Fatalf("a key is listed in clear: %s", rec.Body)
		}
		var l keyList
		if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := list(key1)
	if len(l.Items) != 1 || !l.Items[0].Current || l.Items[0].Last4 != key1[len(key1)-4:] || l.Items[0].LastUsedAt == nil {
		t.Fatalf("the first key: %+v", l)
	}
	key1ID, firstUse := l.Items[0].ID, *l.Items[0].LastUsedAt
	// Within the minute the last use is not written again.
	if l := list(key1); !l.Items[0].LastUsedAt.Equal(firstUse) {
		t.Fatalf("last use rewritten within a minute: %v then %v", firstUse, l.Items[0].LastUsedAt)
	}

	// A second key: both work.
	rec = env.call(http.MethodPost, "/v1/me/api-keys", key1, `{}`)
	_ = json.Unmarshal(rec.Body.Bytes(), &raw)
	key2, _ := raw["api_key"].(string)
	key2ID, _ := raw["id"].(string)
	if rec.Code != http.StatusCreated || key2 == "" || key2 == key1 {
		t.Fatalf("second key: %d %s", rec.Code, rec.Body)
	}
	for _, k := range []string{key1, key2} {
		if rec := env.call(http.MethodGet, "/v1/me", k, ""); rec.Code != http.StatusOK {
			t.Fatalf("GET /v1/me with either key: %d %s", rec.Code, rec.Body)
		}
	}
	if rec := env.call(http.MethodPost, "/v1/me/api-keys", key1, `{}`); rec.Code != http.StatusConflict {
		t.Fatalf("a third active key: %d %s", rec.Code, rec.Body)
	}

	// Rotation: the old key is revoked with itself; it stops working.
	if rec := env.call(http.MethodDelete, "/v1/me/api-keys/"+key1ID, key1, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("revoke the old key: %d %s", rec.Code, rec.Body)
	}
	if rec := env.call(http.MethodGet, "/v1/me", key1, ""); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "revoked") {
		t.Fatalf("a revoked key: %d %s", rec.Code, rec.Body)
	}
	// The last key is not revoked by its partner, and the answer says why.
	if rec := env.call(http.MethodDelete, "/v1/me/api-keys/"+key2ID, key2, ""); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "only active") {
		t.Fatalf("revoking the last key: %d %s", rec.Code, rec.Body)
	}
	if rec := env.call(http.MethodDelete, "/v1/me/api-keys/nope", key2, ""); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown key id: %d %s", rec.Code, rec.Body)
	}

	// Expiry: a past date is refused; an expired key is refused with its date.
	if rec := env.call(http.MethodPost, "/v1/me/api-keys", key2, `{"expires_at":"2020-01-01T00:00:00Z"}`); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("a key expiring in the past: %d %s", rec.Code, rec.Body)
	}
	rec = env.call(http.MethodPost, "/v1/me/api-keys", key2, `{"expires_at":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`)
	_ = json.Unmarshal(rec.Body.Bytes(), &raw)
	key3, _ := raw["api_key"].(string)
	key3ID, _ := raw["id"].(string)
	if rec.Code != http.StatusCreated || raw["expires_at"] == nil {
		t.Fatalf("a key with an expiry: %d %s", rec.Code, rec.Body)
	}
	if rec := env.call(http.MethodGet, "/v1/me", key3, ""); rec.Code != http.StatusOK {
		t.Fatalf("a key before its expiry: %d %s", rec.Code, rec.Body)
	}
	if err := env.st.DB().Model(&models.APIKey{}).Where("id = ?", key3ID).Update("expires_at", time.Now().Add(-time.Second).UTC()).Error; err != nil {
		t.Fatal(err)
	}
	if rec := env.call(http.MethodGet, "/v1/me", key3, ""); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "expired") {
		t.Fatalf("an expired key: %d %s", rec.Code, rec.Body)
	}

	// An operator revokes any key, even the last one; then disables the partner.
	if rec := env.call(http.MethodDelete, "/v1/admin/partners/"+created.ID+"/api-keys/"+key2ID, admin, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("admin revokes: %d %s", rec.Code, rec.Body)
	}
	if rec := env.call(http.MethodGet, "/v1/me", key2, ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("a key revoked by an operator: %d %s", rec.Code, rec.Body)
	}
	key4Text, k4 := newAPIKey(created.ID, nil)
	if err := env.st.CreateAPIKey(ctx, &k4); err != nil {
		t.Fatal(err)
	}
	if rec := env.call(http.MethodPost, "/v1/admin/partners/"+created.ID+"/disable", admin, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("disable: %d %s", rec.Code, rec.Body)
	}
	if rec := env.call(http.MethodGet, "/v1/me", key4Text, ""); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "disabled") {
		t.Fatalf("a disabled partner's key: %d %s", rec.Code, rec.Body)
	}
	if rec := env.call(http.MethodPost, "/v1/admin/partners/nope/disable", admin, ""); rec.Code != http.StatusNotFound {
		t.Fatalf("disable an unknown partner: %d %s", rec.Code, rec.Body)
	}
}
