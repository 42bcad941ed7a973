package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/api"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

const pcTenant = "0b8c7d6e-5f4a-4b3c-9d2e-1f0a9b8c7d6e"

// TestPartnerCenterCommands registers our webhook with the simulated Partner
// Center and has it post its validation event, signed, to a running
// receiver, as `onboarding partner-center …` does against Microsoft.
func TestPartnerCenterCommands(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := storetest.New(t, migrations.SQLite)
	keys, err := secret.NewKeyring(secret.NewKey())
	require.NoError(t, err)
	p := storetest.ConnectedPartner(t, st, keys, "p-pc-cli", pcTenant, "app", "s3cret")

	signer, err := simulator.NewWebhookSigner()
	require.NoError(t, err)
	t.Cleanup(signer.Close)
	sim := simulator.New()
	sim.Signer = signer
	sim.RegisterApp(pcTenant, "app", "s3cret")
	microsoft := httptest.NewServer(sim.Handler())
	t.Cleanup(microsoft.Close)

	// Our receiver, trusting the simulator's signing certificate only.
	verifier := partnercenter.NewVerifier(partnercenter.VerifierConfig{CertHosts: []string{signer.CertHost()}, Roots: signer.Roots(), HTTPClient: signer.HTTPClient()}, st)
	receiver := httptest.NewServer(api.New(api.Deps{Store: st, Config: config.Default(), Logger: logger, PartnerCenter: api.PartnerCenterWebhooks{Verifier: verifier}}))
	t.Cleanup(receiver.Close)

	cfg := config.Default()
	cfg.Microsoft.Mode = config.MicrosoftSimulated
	cfg.Microsoft.LoginURL = microsoft.URL
	cfg.PartnerCenter.APIURL = microsoft.URL + simulator.PartnerCenterPrefix
	var out bytes.Buffer
	cmd := &pcCommand{cfg: cfg, st: st, keys: keys, logger: logger, out: &out, poll: 20 * time.Millisecond}

	require.NoError(t, cmd.run(ctx, []string{"register-webhooks", "--partner", p.ID, "--url", "https://old.example/webhooks/partner-center"}))
	first := sim.Registration(pcTenant)
	require.NotNil(t, first)
	require.NoError(t, cmd.run(ctx, []string{"register-webhooks", "--partner", p.ID, "--url", receiver.URL + "/webhooks/partner-center"}))
	reg := sim.Registration(pcTenant)
	require.Equal(t, receiver.URL+"/webhooks/partner-center", reg.WebhookURL)
	require.Equal(t, partnercenter.RegisteredEvents, reg.WebhookEvents)
	require.Equal(t, first.SubscriberID, reg.SubscriberID, "the second run updates the registration (PUT), it does not add one")
	require.Contains(t, out.String(), "granular-admin-relationship-approved")

	out.Reset()
	require.NoError(t, cmd.run(ctx, []string{"validate", "--partner", p.ID, "--wait", "10s"}))
	require.Contains(t, out.String(), "Status completed")
	require.Contains(t, out.String(), " OK")
	deliveries := sim.Deliveries()
	require.Len(t, deliveries, 1)
	require.Equal(t, partnercenter.EventTest, deliveries[0].Event.EventName)
	require.Equal(t, 200, deliveries[0].Status, "our receiver verified the signed validation event")

	// A receiver that refuses (it does not trust the certificate): validate says so.
	strict := httptest.NewServer(api.New(api.Deps{Store: st, Config: config.Default(), Logger: logger}))
	t.Cleanup(strict.Close)
	require.NoError(t, cmd.run(ctx, []string{"register-webhooks", "--partner", p.ID, "--url", strict.URL + "/webhooks/partner-center"}))
	require.ErrorContains(t, cmd.run(ctx, []string{"validate", "--partner", p.ID, "--wait", "10s"}), "not delivered")

	// Without a Microsoft connection there is nothing to call Partner Center with.
	require.ErrorContains(t, cmd.run(ctx, []string{"register-webhooks", "--partner", "nobody"}), "no Microsoft connection")
}
