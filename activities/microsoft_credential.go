package activities

import (
	"errors"
	"fmt"
	"time"

	"github.com/csp-onboarding/onboarding/microsoft/entra"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
)

// MicrosoftCredential is a connection's opened credential: exactly one of
// the client secret and the certificate is set.
type MicrosoftCredential struct {
	ClientSecret string
	Certificate  *entra.Certificate
}

// OpenMicrosoftCredential unseals a partner's connection credential. Its
// errors name the fix (the key, or a new certificate) and never the secret.
func OpenMicrosoftCredential(keys *secret.Keyring, c models.MicrosoftConnection, now time.Time) (MicrosoftCredential, error) {
	if keys == nil {
		return MicrosoftCredential{}, errors.New("ONBOARDING_SECRET_KEY is not set: the Microsoft connection's credential is sealed under it")
	}
	plain, err := keys.Open(c.SecretSealed, c.SealAD())
	if err != nil {
		return MicrosoftCredential{}, errors.New("the Microsoft connection's credential cannot be opened with the current keys (ONBOARDING_SECRET_KEY, ONBOARDING_SECRET_KEY_OLD)")
	}
	if c.Credential != models.MicrosoftCertificate {
		return MicrosoftCredential{ClientSecret: plain}, nil
	}
	cert, err := entra.ParseCertificate([]byte(plain), now)
	if err != nil {
		return MicrosoftCredential{}, fmt.Errorf("the Microsoft connection's certificate is no longer usable (%w): upload a new one with PUT /v1/me/microsoft-connection", err)
	}
	return MicrosoftCredential{Certificate: cert}, nil
}
