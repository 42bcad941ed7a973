package config

import (
	"fmt"
	"net/url"
	"strings"
)

// MICROSOFT_MODE values.
const (
	// MicrosoftOff keeps delegated admin in the product's database: nothing
	// leaves the process (the behaviour before GDAP through Graph).
	MicrosoftOff = "off"
	// MicrosoftLive calls Microsoft Entra ID and Microsoft Graph.
	MicrosoftLive = "live"
	// MicrosoftSimulated serves the in-repo simulator (microsoft/simulator)
	// inside the process and talks to it as if it were Microsoft.
	MicrosoftSimulated = "simulated"
)

// Microsoft says where partners' GDAP calls go.
type Microsoft struct {
	Mode     string // MICROSOFT_MODE: off, live or simulated
	GraphURL string // MICROSOFT_GRAPH_URL: Graph v1.0 base (sovereign clouds, the simulator)
	LoginURL string // MICROSOFT_LOGIN_URL: the identity platform's base (token endpoint)
	// AdminCenterURL is the Microsoft 365 admin center, where the customer's
	// admin accepts the reseller relationship (MICROSOFT_ADMIN_CENTER_URL).
	AdminCenterURL string
}

func defaultMicrosoft() Microsoft {
	return Microsoft{Mode: MicrosoftOff, GraphURL: "https://graph.microsoft.com/v1.0", LoginURL: "https://login.microsoftonline.com",
		AdminCenterURL: "https://admin.microsoft.com"}
}

func (m *Microsoft) fromLookup(lookup func(string) (string, bool)) []string {
	var errs []string
	if v, ok := lookup("MICROSOFT_MODE"); ok && strings.TrimSpace(v) != "" {
		switch mode := strings.ToLower(strings.TrimSpace(v)); mode {
		case MicrosoftOff, MicrosoftLive, MicrosoftSimulated:
			m.Mode = mode
		default:
			errs = append(errs, fmt.Sprintf("MICROSOFT_MODE=%q must be off, live or simulated", v))
		}
	}
	for name, dst := range map[string]*string{"MICROSOFT_GRAPH_URL": &m.GraphURL, "MICROSOFT_LOGIN_URL": &m.LoginURL, "MICROSOFT_ADMIN_CENTER_URL": &m.AdminCenterURL} {
		v, ok := lookup(name)
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Sprintf("%s=%q must be an http(s) URL", name, v))
			continue
		}
		*dst = strings.TrimRight(u.String(), "/")
	}
	return errs
}
