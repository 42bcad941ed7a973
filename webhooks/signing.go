package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
)

// SecretPrefix marks a signing secret, as the Standard Webhooks libraries expect.
const SecretPrefix = "whsec_"

// PreviousSecretGrace is how long a rotated-out secret keeps signing, so a
// receiver can deploy the new one without refusing messages in between.
const PreviousSecretGrace = 24 * time.Hour

// NewSecret returns a fresh signing secret: 32 random bytes, base64.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// sealAD binds a sealed secret to its endpoint, so it cannot be moved to another row.
func sealAD(endpointID string) string { return "webhook_endpoint:" + endpointID }

// SealSecret seals an endpoint's signing secret for the database.
func SealSecret(keys *secret.Keyring, endpointID, plain string) (string, error) {
	return keys.Seal(plain, sealAD(endpointID))
}

// signingSecrets opens the secrets an endpoint signs with at t: the current
// one and, during the grace period after a rotation, the previous one.
func signingSecrets(keys *secret.Keyring, ep models.WebhookEndpoint, t time.Time) ([]string, error) {
	cur, err := keys.Open(ep.SecretSealed, sealAD(ep.ID))
	if err != nil {
		return nil, err
	}
	out := []string{cur}
	if ep.PreviousSecretSealed != "" && ep.PreviousSecretUntil != nil && t.Before(*ep.PreviousSecretUntil) {
		prev, err := keys.Open(ep.PreviousSecretSealed, sealAD(ep.ID))
		if err != nil {
			return nil, err
		}
		out = append(out, prev)
	}
	return out, nil
}

// Sign sets the Standard Webhooks headers on a request: webhook-id,
// webhook-timestamp and webhook-signature with one "v1,<sig>" per secret,
// space-separated (receivers accept the message if any one verifies).
func Sign(h http.Header, id string, t time.Time, body []byte, secrets []string) error {
	if len(secrets) == 0 {
		return errors.New("no signing secret")
	}
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return fmt.Errorf("signing secret: %w", err)
		}
		sig, err := wh.Sign(id, t, body)
		if err != nil {
			return err
		}
		sigs = append(sigs, sig)
	}
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(t.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(sigs, " "))
	return nil
}
