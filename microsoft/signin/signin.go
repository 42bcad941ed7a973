// Package signin signs a customer's administrator in with Microsoft (OpenID
// Connect, the authorization code flow with PKCE, a multi-tenant app) and
// says who signed in: the tenant (tid), the user's object id (oid), name
// and user principal name. Kept libraries do the protocol: x/oauth2 (the
// code flow, PKCE) and coreos/go-oidc (the ID token's signature, audience,
// expiry); this package adds what a multi-tenant app must check itself,
// the issuer of the signed-in tenant, and the nonce.
//
//   - The flow: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
//   - Multi-tenant issuer validation ("{tenantid}" in the organizations
//     metadata's issuer is the token's tid):
//     https://learn.microsoft.com/en-us/entra/identity-platform/howto-convert-app-to-be-multi-tenant#update-your-code-to-handle-multiple-issuer-values
//   - The claims: https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is the product's own app registration for the customers' sign-in.
type Config struct {
	LoginURL     string // MICROSOFT_LOGIN_URL
	ClientID     string // MICROSOFT_SIGNIN_CLIENT_ID
	ClientSecret string // MICROSOFT_SIGNIN_CLIENT_SECRET
	RedirectURL  string // <public base URL>/signin/callback
	HTTPClient   *http.Client
}

// Identity is who signed in.
type Identity struct {
	TenantID string `json:"tenant_id"`
	ObjectID string `json:"object_id"`
	Name     string `json:"name"`
	UPN      string `json:"upn"`
}

// Client runs the sign-in; the "organizations" metadata is read once.
type Client struct {
	cfg  Config
	http *http.Client

	mu       sync.Mutex
	meta     *metadata
	verifier *oidc.IDTokenVerifier
}

type metadata struct {
	Issuer   string `json:"issuer"` // https://login.microsoftonline.com/{tenantid}/v2.0
	AuthURL  string `json:"authorization_endpoint"`
	TokenURL string `json:"token_endpoint"`
	JWKSURL  string `json:"jwks_uri"`
}

// New is a client; nothing is fetched until the first sign-in.
func New(cfg Config) *Client {
	h := cfg.HTTPClient
	if h == nil {
		h = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{cfg: cfg, http: h}
}

// Start is one sign-in under way: kept by the caller until the callback.
type Start struct {
	State, Nonce, Verifier string
}

// NewStart makes a fresh state, nonce and PKCE verifier.
func NewStart() Start {
	return Start{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
}

// AuthURL is where the browser goes to sign in; loginHint pre-fills the account.
func (c *Client) AuthURL(ctx context.Context, st Start, loginHint string) (string, error) {
	oc, _, err := c.oauth(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier), oidc.Nonce(st.Nonce), oauth2.SetAuthURLParam("response_mode", "query")}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	return oc.AuthCodeURL(st.State, opts...), nil
}

// Errors of a callback that does not sign anyone in.
var (
	ErrState   = errors.New("the sign-in answer does not belong to this browser's sign-in (state)")
	ErrRefused = errors.New("the identity platform did not sign the user in")
)

// Finish redeems the callback's code (with the verifier) and checks the ID
// token: signature by the identity platform's keys, audience, expiry, the
// issuer of the tenant it names, and the nonce.
func (c *Client) Finish(ctx context.Context, st Start, state, code string) (Identity, error) {
	if state == "" || state != st.State {
		return Identity{}, ErrState
	}
	if code == "" {
		return Identity{}, ErrRefused
	}
	oc, meta, err := c.oauth(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.http), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: no id_token in the answer", ErrRefused)
	}
	idt, err := c.verifier.Verify(oidc.ClientContext(ctx, c.http), raw)
	if err != nil {
		return Identity{}, fmt.Errorf("the ID token does not verify: %w", err)
	}
	var claims struct {
		TID               string `json:"tid"`
		OID               string `json:"oid"`
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, err
	}
	if claims.TID == "" || idt.Issuer != strings.Replace(meta.Issuer, "{tenantid}", claims.TID, 1) {
		return Identity{}, fmt.Errorf("the ID token's issuer %q is not its tenant's (%s)", idt.Issuer, claims.TID)
	}
	if idt.Nonce == "" || idt.Nonce != st.Nonce {
		return Identity{}, errors.New("the ID token's nonce is not this sign-in's")
	}
	return Identity{TenantID: strings.ToLower(claims.TID), ObjectID: claims.OID, Name: claims.Name, UPN: claims.PreferredUsername}, nil
}

// oauth reads the organizations metadata once and builds the code flow and
// the token verifier from it. The issuer check is this package's (Finish).
func (c *Client) oauth(ctx context.Context) (*oauth2.Config, *metadata, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.meta == nil {
		m, err := c.fetchMetadata(ctx)
		if err != nil {
			return nil, nil, err
		}
		keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.WithoutCancel(ctx), c.http), m.JWKSURL)
		c.meta, c.verifier = m, oidc.NewVerifier(m.Issuer, keys, &oidc.Config{ClientID: c.cfg.ClientID, SkipIssuerCheck: true})
	}
	return &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, RedirectURL: c.cfg.RedirectURL,
		Endpoint: oauth2.Endpoint{AuthURL: c.meta.AuthURL, TokenURL: c.meta.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{oidc.ScopeOpenID, "profile", "email"}}, c.meta, nil
}

func (c *Client) fetchMetadata(ctx context.Context) (*metadata, error) {
	u := strings.TrimRight(c.cfg.LoginURL, "/") + "/organizations/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read Microsoft's sign-in metadata: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read Microsoft's sign-in metadata: %d %v", resp.StatusCode, err)
	}
	var m metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("read Microsoft's sign-in metadata: %w", err)
	}
	if !strings.Contains(m.Issuer, "{tenantid}") || m.AuthURL == "" || m.TokenURL == "" || m.JWKSURL == "" {
		return nil, fmt.Errorf("the sign-in metadata at %s is not a multi-tenant one", u)
	}
	return &m, nil
}
