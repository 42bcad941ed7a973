package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPartnerCenterSettings(t *testing.T) {
	c, err := fromLookup(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	require.Equal(t, PartnerCenter{APIURL: "https://api.partnercenter.microsoft.com",
		WebhookCertHosts: []string{"3psostorageacct.blob.core.windows.net"}, WebhookMaxAge: 24 * time.Hour}, c.PartnerCenter)

	env := map[string]string{"PARTNER_CENTER_API_URL": "http://127.0.0.1:9/partnercenter/", "PARTNER_CENTER_WEBHOOK_CERT_HOSTS": " 127.0.0.1:8443 ,Certs.Example",
		"PARTNER_CENTER_WEBHOOK_MAX_AGE": "2h"}
	c, err = fromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.Equal(t, PartnerCenter{APIURL: "http://127.0.0.1:9/partnercenter", WebhookCertHosts: []string{"127.0.0.1:8443", "certs.example"}, WebhookMaxAge: 2 * time.Hour}, c.PartnerCenter)

	env = map[string]string{"PARTNER_CENTER_API_URL": "ftp://x", "PARTNER_CENTER_WEBHOOK_CERT_HOSTS": "https://evil.example/x", "PARTNER_CENTER_WEBHOOK_MAX_AGE": "-1h"}
	_, err = fromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.ErrorContains(t, err, "PARTNER_CENTER_API_URL")
	require.ErrorContains(t, err, "PARTNER_CENTER_WEBHOOK_CERT_HOSTS")
	require.ErrorContains(t, err, "PARTNER_CENTER_WEBHOOK_MAX_AGE")
}
