package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMicrosoftSettings(t *testing.T) {
	c, err := fromLookup(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	require.Equal(t, Microsoft{Mode: MicrosoftOff, GraphURL: "https://graph.microsoft.com/v1.0", LoginURL: "https://login.microsoftonline.com",
		AdminCenterURL: "https://admin.microsoft.com"}, c.Microsoft)

	env := map[string]string{"MICROSOFT_MODE": "Simulated", "MICROSOFT_GRAPH_URL": "https://graph.microsoft.us/v1.0/", "MICROSOFT_LOGIN_URL": "https://login.microsoftonline.us",
		"MICROSOFT_ADMIN_CENTER_URL": "https://admin.microsoft.us/"}
	c, err = fromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	require.Equal(t, Microsoft{Mode: MicrosoftSimulated, GraphURL: "https://graph.microsoft.us/v1.0", LoginURL: "https://login.microsoftonline.us",
		AdminCenterURL: "https://admin.microsoft.us"}, c.Microsoft)

	env = map[string]string{"MICROSOFT_MODE": "on", "MICROSOFT_GRAPH_URL": "ftp://x"}
	_, err = fromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.ErrorContains(t, err, "MICROSOFT_MODE")
	require.ErrorContains(t, err, "MICROSOFT_GRAPH_URL")
}
