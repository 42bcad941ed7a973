// Package entra obtains app-only tokens from the Microsoft identity platform
// (OAuth2 client credentials) with either of an app registration's two
// credential kinds: a client secret, or a certificate whose private key
// signs a client assertion.
//
//   - Client credentials grant: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
//   - Certificate credentials (the assertion's header and claims):
//     https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials
package entra

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// AssertionType is the client_assertion_type of a certificate credential.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Credentials are one app registration in one tenant, asking for one scope.
// Exactly one of ClientSecret and Certificate is set.
type Credentials struct {
	LoginURL     string // e.g. https://login.microsoftonline.com (sovereign clouds and the simulator differ)
	TenantID     string
	ClientID     string
	ClientSecret string
	Certificate  *Certificate
	Scope        string // e.g. https://graph.microsoft.com/.default
}

// TokenURL is the tenant's v2.0 token endpoint; it is also the audience of
// a certificate's assertion.
func (c Credentials) TokenURL() string {
	return strings.TrimRight(c.LoginURL, "/") + "/" + url.PathEscape(c.TenantID) + "/oauth2/v2.0/token"
}

// Token requests a fresh token (no cache): the check a connection passes
// before it is saved. httpClient carries the request.
func (c Credentials) Token(ctx context.Context, httpClient *http.Client) (*oauth2.Token, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	return cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, httpClient))
}

// TokenSource caches tokens until they expire. ctx carries no deadline the
// source keeps, only the HTTP client (x/oauth2 reads it from the context).
func (c Credentials) TokenSource(ctx context.Context, httpClient *http.Client) oauth2.TokenSource {
	ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, httpClient)
	return oauth2.ReuseTokenSource(nil, tokenFunc(func() (*oauth2.Token, error) {
		// A certificate's assertion lives minutes, so each token request signs a new one.
		cfg, err := c.config()
		if err != nil {
			return nil, err
		}
		return cfg.Token(ctx)
	}))
}

type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

func (c Credentials) config() (*clientcredentials.Config, error) {
	cfg := &clientcredentials.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.TokenURL(),
		Scopes: []string{c.Scope}, AuthStyle: oauth2.AuthStyleInParams,
	}
	if c.Certificate != nil {
		assertion, err := c.Certificate.Assertion(c.ClientID, c.TokenURL(), time.Now())
		if err != nil {
			return nil, err
		}
		cfg.ClientSecret = ""
		cfg.EndpointParams = url.Values{"client_assertion_type": {AssertionType}, "client_assertion": {assertion}}
	}
	return cfg, nil
}
