package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
)

// ErrTenantNotFound: no Entra tenant has verified the domain.
var ErrTenantNotFound = errors.New("no Microsoft Entra tenant has this domain")

// TenantOfDomain finds the tenant id of the Entra tenant that verified a
// domain, from the identity platform's OpenID Connect metadata: its
// {tenant} may be "a friendly domain name", and the document's issuer is
// https://login.microsoftonline.com/{tenant id}/v2.0.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
// A domain no tenant has is answered 400 (AADSTS90002): ErrTenantNotFound.
func TenantOfDomain(ctx context.Context, httpClient *http.Client, loginURL, domain string) (string, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if domain == "" || strings.ContainsAny(domain, "/?#@ ") {
		return "", fmt.Errorf("%q is not a domain name", domain)
	}
	u := strings.TrimRight(loginURL, "/") + "/" + url.PathEscape(domain) + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("read the OpenID metadata of %s: %w", domain, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read the OpenID metadata of %s: %w", domain, err)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotFound:
		return "", fmt.Errorf("%s: %w", domain, ErrTenantNotFound)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("the OpenID metadata of %s: the identity platform answered %d", domain, resp.StatusCode)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("the OpenID metadata of %s: %w", domain, err)
	}
	return tenantOfIssuer(doc.Issuer)
}

// tenantOfIssuer is the tenant id in a v2.0 issuer (…/{tenant id}/v2.0).
func tenantOfIssuer(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return "", fmt.Errorf("issuer %q: %w", issuer, err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) == 0 {
		return "", fmt.Errorf("issuer %q names no tenant", issuer)
	}
	id, err := uuid.Parse(parts[0])
	if err != nil {
		return "", fmt.Errorf("issuer %q names no tenant id", issuer)
	}
	return id.String(), nil
}
