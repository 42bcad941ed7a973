package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Sealing keeps a secret that must be used again later (a personal link
// waiting for its e-mail's delivery) encrypted at rest with AES-256-GCM under
// ONBOARDING_SECRET_KEY. The additional data binds a sealed value to its row,
// so it cannot be moved to another.

const sealedPrefix = "v1."

// ErrNoKey means sealing was needed but no ONBOARDING_SECRET_KEY is set.
var ErrNoKey = errors.New("ONBOARDING_SECRET_KEY is not set")

// NewKey returns a fresh key in the form ONBOARDING_SECRET_KEY takes.
func NewKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// ParseKey reads a 32-byte key written in base64 (standard or URL) or hex.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hex.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("a secret key must be 32 random bytes in base64 or hex (make one with: openssl rand -base64 32)")
}

// Seal encrypts plaintext under key, bound to additional.
func Seal(key []byte, plaintext, additional string) (string, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	out := gcm.Seal(nonce, nonce, []byte(plaintext), []byte(additional))
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal made with the same key and additional data.
func Open(key []byte, sealed, additional string) (string, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	raw, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", errors.New("not a sealed value")
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) < gcm.NonceSize() {
		return "", errors.New("a sealed value is damaged")
	}
	plain, err := gcm.Open(nil, b[:gcm.NonceSize()], b[gcm.NonceSize():], []byte(additional))
	if err != nil {
		return "", errors.New("a sealed value does not open with this key")
	}
	return string(plain), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return cipher.NewGCM(block)
}

// Keyring seals with the current key and opens with the current or any older
// one (ONBOARDING_SECRET_KEY_OLD), so a key can be rotated while values sealed
// under the old one are still pending.
type Keyring struct {
	current []byte
	old     [][]byte
}

// NewKeyring parses the current key and the older ones (comma-separated in
// ONBOARDING_SECRET_KEY_OLD). An empty current key gives a nil keyring.
func NewKeyring(current string, old ...string) (*Keyring, error) {
	if strings.TrimSpace(current) == "" {
		return nil, nil
	}
	k := &Keyring{}
	var err error
	if k.current, err = ParseKey(current); err != nil {
		return nil, fmt.Errorf("ONBOARDING_SECRET_KEY: %w", err)
	}
	for _, o := range old {
		for _, part := range strings.Split(o, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			b, err := ParseKey(part)
			if err != nil {
				return nil, fmt.Errorf("ONBOARDING_SECRET_KEY_OLD: %w", err)
			}
			k.old = append(k.old, b)
		}
	}
	return k, nil
}

// Seal encrypts under the current key.
func (k *Keyring) Seal(plaintext, additional string) (string, error) {
	if k == nil {
		return "", ErrNoKey
	}
	return Seal(k.current, plaintext, additional)
}

// Open tries the current key, then the older ones.
func (k *Keyring) Open(sealed, additional string) (string, error) {
	if k == nil {
		return "", ErrNoKey
	}
	plain, err := Open(k.current, sealed, additional)
	for _, key := range k.old {
		if err == nil {
			break
		}
		plain, err = Open(key, sealed, additional)
	}
	return plain, err
}
