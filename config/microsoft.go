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
	// SignInClientID and SignInClientSecret are the product's own
	// multi-tenant app registration with which customers' administrators
	// sign in before accepting (MICROSOFT_SIGNIN_CLIENT_ID,
	// MICROSOFT_SIGNIN_CLIENT_SECRET); required in live mode, made up by the
	// process in simulated mode.
	SignInClientID     string
	SignInClientSecret string
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
	m.SignInClientID, _ = lookup("MICROSOFT_SIGNIN_CLIENT_ID")
	m.SignInClientSecret, _ = lookup("MICROSOFT_SIGNIN_CLIENT_SECRET")
	m.SignInClientID, m.SignInClientSecret = strings.TrimSpace(m.SignInClientID), strings.TrimSpace(m.SignInClientSecret)
	if m.Mode == MicrosoftLive && (m.SignInClientID == "" || m.SignInClientSecret == "") {
		errs = append(errs, "MICROSOFT_MODE=live needs MICROSOFT_SIGNIN_CLIENT_ID and MICROSOFT_SIGNIN_CLIENT_SECRET: the product's multi-tenant "+
			"app registration with which the customer's administrator signs in before accepting (README, \"Sign-in with Microsoft\")")
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
