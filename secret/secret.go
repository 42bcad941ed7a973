// Package secret makes the product's bearer credentials: partner API keys and
// the tokens of customers' personal links. Both carry 256 random bits and are
// stored only as their SHA-256, so a database leak yields no usable credential.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// New returns a fresh random credential with a readable prefix ("csp_key_"),
// and the hash to store.
func New(prefix string) (token, hash string) {
	b := make([]byte, 32)
	// crypto/rand.Read never fails on supported platforms (it panics instead).
	_, _ = rand.Read(b)
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, Hash(token)
}

// Hash is the stored form of a credential.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Equal compares two secrets in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// APIKeyPrefix marks partner API keys, so that a leaked one is recognisable.
const (
	APIKeyPrefix = "csp_key_"
)
