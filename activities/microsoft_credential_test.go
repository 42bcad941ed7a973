package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/microsoft/entra/entratest"
	"github.com/csp-onboarding/onboarding/models"
)

// useCertificate replaces the fixture partner's secret by a certificate
// valid until notAfter, uploaded to the simulated app registration.
func (f *gdapFixture) useCertificate(t *testing.T, notAfter time.Time) {
	t.Helper()
	ctx := context.Background()
	bundle, cert := entratest.Certificate(t, time.Now().Add(-48*time.Hour), notAfter)
	f.sim.RegisterAppCertificate(gdapPartnerTenant, gdapClientID, cert)
	c, err := f.acts.Store.MicrosoftConnection(ctx, f.partner)
	require.NoError(t, err)
	c.Credential = models.MicrosoftCertificate
	c.SecretSealed, err = f.acts.Secrets.Seal(string(bundle), c.SealAD())
	require.NoError(t, err)
	require.NoError(t, f.acts.Store.SaveMicrosoftConnection(ctx, &c))
}

// A connection with a certificate credential drives the same GDAP calls.
func TestGDAPWithACertificateCredential(t *testing.T) {
	f := newGDAPFixture(t)
	f.useCertificate(t, time.Now().AddDate(1, 0, 0))
	r := f.create(t)
	require.NotEmpty(t, r.ID)
	require.Len(t, f.sim.Relationships(gdapPartnerTenant), 1)
}

// A certificate that has expired since it was saved is a final error naming the fix.
func TestGDAPWithAnExpiredCertificateIsFinal(t *testing.T) {
	f := newGDAPFixture(t)
	f.useCertificate(t, time.Now().Add(-time.Hour))
	_, err := f.env.ExecuteActivity(f.acts.CreateGDAPRelationship, activities.GDAPRelationshipInput{PartnerID: f.partner,
		DisplayName: "Fabrikam-Northwind-inv1", Roles: []string{"Helpdesk Administrator"}, DurationDays: 90})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.Equal(t, activities.ErrTypeMicrosoftCredential, app.Type())
	require.True(t, app.NonRetryable())
	require.Contains(t, app.Message(), "upload a new one")
	require.Empty(t, f.sim.Relationships(gdapPartnerTenant))
}

func TestOpenMicrosoftCredentialNeedsTheKey(t *testing.T) {
	f := newGDAPFixture(t)
	c, err := f.acts.Store.MicrosoftConnection(context.Background(), f.partner)
	require.NoError(t, err)
	_, err = activities.OpenMicrosoftCredential(nil, c, time.Now())
	require.ErrorContains(t, err, "ONBOARDING_SECRET_KEY")
	c.PartnerID = "another-partner" // a sealed value copied to another row does not open
	_, err = activities.OpenMicrosoftCredential(f.acts.Secrets, c, time.Now())
	require.ErrorContains(t, err, "cannot be opened")
}
