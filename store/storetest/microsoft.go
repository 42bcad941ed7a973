package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
)

// ConnectedPartner is a reseller with a Microsoft connection (its secret
// sealed under keys, as PUT /v1/me/microsoft-connection leaves it).
func ConnectedPartner(t testing.TB, st *store.Store, keys *secret.Keyring, id, tenantID, clientID, clientSecret string) models.Partner {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	p := models.Partner{ID: id, Name: "Fabrikam", Type: models.PartnerTypeReseller, ContactEmail: "ops@fabrikam.example",
		EnrollmentStatus: "not_enrolled", CreatedAt: now, UpdatedAt: now}
	if err := st.CreatePartner(ctx, &p); err != nil {
		t.Fatal(err)
	}
	c := models.MicrosoftConnection{PartnerID: p.ID, TenantID: tenantID, ClientID: clientID, Status: models.MicrosoftConnected}
	sealed, err := keys.Seal(clientSecret, c.SealAD())
	if err != nil {
		t.Fatal(err)
	}
	c.SecretSealed = sealed
	if err := st.SaveMicrosoftConnection(ctx, &c); err != nil {
		t.Fatal(err)
	}
	return p
}
