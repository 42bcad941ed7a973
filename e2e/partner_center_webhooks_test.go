package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/api"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store/storetest"
	"github.com/csp-onboarding/onboarding/workflows"
)

const pcPartnerTenant = "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"

// TestPartnerCenterWebhookWakesGDAPWorkflow: a GDAP workflow waits for the
// customer's approval, reading the relationship every two minutes. The
// customer approves at (simulated) Microsoft, Partner Center posts the
// signed granular-admin-relationship-approved event to our receiver, and the
// workflow reads the relationship at once. A replay of the delivery is
// refused and wakes nobody.
func TestPartnerCenterWebhookWakesGDAPWorkflow(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := storetest.New(t, migrations.SQLite)
	keys, err := secret.NewKeyring(secret.NewKey())
	require.NoError(t, err)
	p := storetest.ConnectedPartner(t, st, keys, "p-pc-"+uuid.NewString()[:8], pcPartnerTenant, "pc-app", "s3cret")

	// Microsoft: Graph, Entra ID and Partner Center with its signing certificate.
	signer, err := simulator.NewWebhookSigner()
	require.NoError(t, err)
	t.Cleanup(signer.Close)
	sim := simulator.New()
	sim.Signer = signer
	sim.RegisterApp(pcPartnerTenant, "pc-app", "s3cret")
	microsoft := httptest.NewServer(sim.Handler())
	t.Cleanup(microsoft.Close)
	msCfg := config.Microsoft{Mode: config.MicrosoftSimulated, GraphURL: microsoft.URL + simulator.GraphPrefix, LoginURL: microsoft.URL}

	// A worker running the GDAP workflow against it, on its own task queue.
	c, err := client.Dial(client.Options{HostPort: temporalServer.FrontendAddress(), Namespace: "default", Logger: logger})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	queue := "pc-webhooks-" + uuid.NewString()
	w := sdkworker.New(c, queue, sdkworker.Options{})
	w.RegisterWorkflow(workflows.GDAPWorkflow)
	w.RegisterActivity(&activities.GDAP{Store: st, Secrets: keys, Microsoft: msCfg, HTTPClient: microsoft.Client()})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	workflowID := "gdap-webhook-" + uuid.NewString()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflowID, TaskQueue: queue}, workflows.GDAPWorkflow, workflows.GDAPInput{
		GDAPRelationshipInput: activities.GDAPRelationshipInput{PartnerID: p.ID, DisplayName: "Fabrikam-Northwind-webhook", Roles: []string{"Helpdesk Administrator"}, DurationDays: 90}})
	require.NoError(t, err)
	status := func() workflows.GDAPResult {
		v, err := c.QueryWorkflow(ctx, workflowID, run.GetRunID(), workflows.QueryStatus)
		require.NoError(t, err)
		var r workflows.GDAPResult
		require.NoError(t, v.Get(&r))
		return r
	}
	require.Eventually(t, func() bool { return status().Status == "approvalPending" }, 30*time.Second, 100*time.Millisecond)
	graphID := status().RelationshipID

	// Our receiver: trusts the simulator's certificate, signals through
	// Temporal, finds the workflow by the relationship's Graph id.
	verifier := partnercenter.NewVerifier(partnercenter.VerifierConfig{CertHosts: []string{signer.CertHost()}, Roots: signer.Roots(), HTTPClient: signer.HTTPClient()}, st)
	finder := api.GDAPWorkflowFinderFunc(func(_ context.Context, id string) (string, error) {
		if id == graphID {
			return workflowID, nil
		}
		return "", nil
	})
	receiver := httptest.NewServer(api.New(api.Deps{Store: st, Temporal: c, Config: config.Default(), Logger: logger,
		PartnerCenter: api.PartnerCenterWebhooks{Verifier: verifier, Signals: c, GDAPWorkflows: finder}}))
	t.Cleanup(receiver.Close)
	pc := partnercenter.NewClient(ctx, partnercenter.Config{APIURL: microsoft.URL + simulator.PartnerCenterPrefix, LoginURL: microsoft.URL,
		TenantID: pcPartnerTenant, ClientID: "pc-app", ClientSecret: "s3cret", HTTPClient: microsoft.Client()})
	_, err = pc.Register(ctx, receiver.URL+"/webhooks/partner-center", partnercenter.RegisteredEvents)
	require.NoError(t, err)

	// The customer approves; Partner Center tells us. The workflow's next
	// read was two minutes away: it reads now.
	require.NoError(t, sim.Approve(graphID, "c0ffee00-1111-4222-8333-444455556666"))
	event := partnercenter.Event{EventName: partnercenter.EventGDAPRelationshipApproved, ResourceName: "GranularAdminRelationship",
		ResourceURI: "https://partner.microsoft.com/granularAdminRelationships/" + graphID}
	d, err := sim.Deliver(ctx, pcPartnerTenant, event)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, d.Status)
	require.Eventually(t, func() bool { return status().Status != "approvalPending" }, 15*time.Second, 100*time.Millisecond,
		"the signalled workflow read the approved relationship long before its two-minute poll")

	// The same delivery replayed: 401, and the workflow got one signal only.
	req, err := signer.Request(ctx, receiver.URL+"/webhooks/partner-center", mustJSON(t, sim.Deliveries()[0].Event))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, 1, signalsIn(t, c, workflowID, workflows.SignalGDAPChanged))
	require.NoError(t, c.TerminateWorkflow(ctx, workflowID, "", "test done"))
}

func signalsIn(t *testing.T, c client.Client, workflowID, name string) int {
	t.Helper()
	n := 0
	it := c.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == name {
			n++
		}
	}
	return n
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestPartnerCenterValidationInSimulatedMode: in MICROSOFT_MODE=simulated the
// product's receiver trusts its simulator's signing certificate: a partner
// registers the product's webhook with the simulated Partner Center (what
// `onboarding partner-center register-webhooks` does) and the validation
// event is delivered, verified and acknowledged.
func TestPartnerCenterValidationInSimulatedMode(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) { c.Microsoft.Mode = config.MicrosoftSimulated })
	reseller := p.createPartner("Fabrikam", "reseller", false)
	const tenant, clientID, secret = "8f1e5b3a-0d3c-4c56-9a8e-2f1f7c0b1a11", "b0a4f6a2-6f7b-4e55-8f33-0f3a4c9b2d10", "the-client-secret-value"
	p.must(200, p.call("PUT", "/v1/me/microsoft-connection", reseller.key, map[string]any{"tenant_id": tenant, "client_id": clientID, "client_secret": secret}))

	ctx := t.Context()
	base := p.app.MicrosoftSimulatorURL()
	pc := partnercenter.NewClient(ctx, partnercenter.Config{APIURL: base + simulator.PartnerCenterPrefix, LoginURL: base,
		TenantID: tenant, ClientID: clientID, ClientSecret: secret})
	_, err := pc.Register(ctx, p.base+"/webhooks/partner-center", partnercenter.RegisteredEvents)
	require.NoError(t, err)
	id, err := pc.SendValidationEvent(ctx)
	require.NoError(t, err)
	var v partnercenter.ValidationEvent
	require.Eventually(t, func() bool {
		v, err = pc.ValidationEvent(ctx, id)
		require.NoError(t, err)
		return v.Status == "completed"
	}, 15*time.Second, 50*time.Millisecond)
	require.Len(t, v.Results, 1)
	require.Equal(t, "OK", v.Results[0].ResponseCode)
	require.Contains(t, p.logs.String(), "Partner Center validation event received")
	require.NotContains(t, p.logs.String(), secret)
}
