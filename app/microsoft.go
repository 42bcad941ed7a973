package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
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
	sim.AcceptNewApps = true
	a.simulator = &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := a.simulator.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("Microsoft simulator stopped", "error", err)
		}
	}()
	base := "http://" + l.Addr().String()
	a.SimulatorURL, a.MicrosoftSimulator = base, sim
	cfg.Microsoft.GraphURL, cfg.Microsoft.LoginURL = base+simulator.GraphPrefix, base
	a.logger.Info("MICROSOFT_MODE=simulated: Microsoft Graph and Entra ID are simulated in this process", "url", base,
		"approve_as_customer", "POST "+base+"/simulator/relationships/{id}/approve")
	return cfg, nil
}
