package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/csp-onboarding/onboarding/api"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/workflows"
)

// startMicrosoftSimulator serves the Microsoft simulator on a loopback port
// when MICROSOFT_MODE=simulated and points the Graph and login URLs at it.
// Its state lives in this process: the mode is for `onboarding dev` (one
// process) and tests, not for separate api and worker processes.
func (a *App) startMicrosoftSimulator(cfg config.Config) (config.Config, error) {
	if cfg.Microsoft.Mode != config.MicrosoftSimulated {
		return cfg, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return cfg, fmt.Errorf("listen for the Microsoft simulator: %w", err)
	}
	sim := simulator.New()
	sim.AcceptNewApps, sim.AnyDomainIsATenant = true, true
	// Partner Center's webhook deliveries are signed with a certificate made
	// here and served over https on loopback: the receiver trusts only that
	// host and that CA (not the system's roots) in this mode.
	signer, err := simulator.NewWebhookSigner()
	if err != nil {
		_ = l.Close()
		return cfg, fmt.Errorf("make the simulated Partner Center signing certificate: %w", err)
	}
	sim.Signer, a.sim, a.pcSigner = signer, sim, signer
	a.simulator = &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := a.simulator.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("Microsoft simulator stopped", "error", err)
		}
	}()
	base := "http://" + l.Addr().String()
	a.simURL = base
	cfg.Microsoft.GraphURL, cfg.Microsoft.LoginURL = base+simulator.GraphPrefix, base
	cfg.Microsoft.AdminCenterURL = base + simulator.AdminCenterPrefix
	if cfg.Microsoft.SignInClientID == "" {
		// The customers' sign-in app: the simulator registers it at its first use.
		cfg.Microsoft.SignInClientID, cfg.Microsoft.SignInClientSecret = uuid.NewString(), secret.NewKey()
	}
	cfg.PartnerCenter.APIURL = base + simulator.PartnerCenterPrefix
	cfg.PartnerCenter.WebhookCertHosts = []string{signer.CertHost()}
	a.logger.Info("MICROSOFT_MODE=simulated: Microsoft Graph, Entra ID and Partner Center are simulated in this process", "url", base,
		"approve_as_customer", "POST "+base+"/simulator/relationships/{id}/approve")
	return cfg, nil
}

// MicrosoftSimulator is the in-process simulator (MICROSOFT_MODE=simulated),
// or nil: tests act as Microsoft through it (approvals, webhook deliveries).
func (a *App) MicrosoftSimulator() *simulator.Simulator { return a.sim }

// MicrosoftSimulatorURL is the simulator's base URL ("" when not simulated).
func (a *App) MicrosoftSimulatorURL() string { return a.simURL }

// partnerCenterWebhooks are the Partner Center receiver's dependencies:
// signals through Temporal; in simulated mode, trust in the simulator's
// signing certificate only. A GDAP event wakes the delegated admin
// lifecycle of the row carrying its Graph relationship id (which forwards it
// to its GDAP child while that waits).
func (a *App) partnerCenterWebhooks(cfg config.Config, st *store.Store, c api.Signaler) api.PartnerCenterWebhooks {
	w := api.PartnerCenterWebhooks{Signals: c, GDAPWorkflows: api.GDAPWorkflowsByRow(st.DelegatedAdminByGraphID,
		func(r models.DelegatedAdminRelationship) string { return r.ID }, workflows.DelegatedAdminWorkflowID)}
	if a.pcSigner != nil {
		w.Verifier = partnercenter.NewVerifier(partnercenter.VerifierConfig{CertHosts: cfg.PartnerCenter.WebhookCertHosts, Roots: a.pcSigner.Roots(),
			HTTPClient: a.pcSigner.HTTPClient(), MaxAge: cfg.PartnerCenter.WebhookMaxAge, Logger: a.logger}, st)
	}
	return w
}
