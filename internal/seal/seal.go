// Package seal encrypts what lastmile keeps secret at rest (provider
// credentials, webhook signing secrets, key material) with AES-256-GCM
// under the server's encryption key. A database dump alone reveals none of
// it.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of an encryption key.
const KeySize = 32

// prefix versions the format, so keys can be rotated later without
// guessing what a stored value is.
const prefix = "v1."

// Box seals and opens values.
type Box struct {
	aead cipher.AEAD
}

// New returns a box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("encryption key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// ParseKey reads a key written as base64 (standard or URL alphabet, padded
// or not) or as 64 hex digits.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	if len(s) == 2*KeySize {
		k := make([]byte, KeySize)
		if _, err := fmt.Sscanf(s, "%x", &k); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("encryption key must be 32 random bytes written as base64 (e.g. from `openssl rand -base64 32`) or 64 hex digits")
}

// NewKey returns a fresh random key written as base64.
func NewKey() string {
	k := make([]byte, KeySize)
	rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// Seal encrypts plain. context binds the value to where it is stored (a
// table and row), so a sealed value copied to another row does not open.
func (b *Box) Seal(plain []byte, context string) string {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	out := b.aead.Seal(nonce, nonce, plain, ad(context))
	return prefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value Seal returned for the same context.
func (b *Box) Open(sealed, context string) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return nil, errors.New("sealed value has an unknown format")
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return nil, errors.New("sealed value is damaged")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], ad(context))
	if err != nil {
		return nil, errors.New("sealed value does not open with this server's encryption key (was the key changed?)")
	}
	return plain, nil
}

func ad(context string) []byte {
	h := sha256.Sum256([]byte("lastmile seal " + context))
	return h[:]
}
