package push

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// RFC 8188 framing as RFC 8291 §4 uses it: one record, rs = 4096, the key id
// being the sender's ephemeral public key.
const (
	recordSize = 4096
	saltLen    = 16
	keyLen     = 65 // uncompressed P-256 point
	headerLen  = saltLen + 4 + 1 + keyLen
	tagLen     = 16
	// maxBody is what every push service must accept (RFC 8030 §7.2); the
	// header counts towards it.
	maxBody = 4096
	// maxPlaintext leaves room for the header, the padding delimiter and
	// the tag: 3993 bytes.
	maxPlaintext = maxBody - headerLen - 1 - tagLen
)

// seal encrypts plaintext for a subscription with a fresh ephemeral key and
// salt, as Content-Encoding aes128gcm.
func seal(plaintext, uaPublic, authSecret []byte) ([]byte, error) {
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ephemeral key: %w", err)
	}
	salt := make([]byte, saltLen)
	rand.Read(salt)
	return encrypt(plaintext, uaPublic, authSecret, as, salt)
}

// encrypt is RFC 8291 with the sender's key pair and salt given, so that the
// RFC's worked example can be reproduced byte for byte. No padding beyond
// the delimiter is added: the body is as short as the payload allows.
func encrypt(plaintext, uaPublic, authSecret []byte, as *ecdh.PrivateKey, salt []byte) ([]byte, error) {
	if len(plaintext) > maxPlaintext {
		return nil, fmt.Errorf("payload of %d bytes exceeds the %d a push message can carry", len(plaintext), maxPlaintext)
	}
	if len(salt) != saltLen {
		return nil, errors.New("salt must be 16 bytes")
	}
	ua, err := ecdh.P256().NewPublicKey(uaPublic)
	if err != nil {
		return nil, fmt.Errorf("subscription key: %w", err)
	}
	shared, err := as.ECDH(ua)
	if err != nil {
		return nil, fmt.Errorf("key agreement: %w", err)
	}
	asPublic := as.PublicKey().Bytes()

	// RFC 8291 §3.4: mix the auth secret and both public keys into the
	// input keying material, then derive key and nonce per RFC 8188 §2.2-2.3.
	info := make([]byte, 0, 14+2*keyLen)
	info = append(info, "WebPush: info\x00"...)
	info = append(info, uaPublic...)
	info = append(info, asPublic...)
	ikm, err := hkdf.Key(sha256.New, shared, authSecret, string(info), 32)
	if err != nil {
		return nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}

	out := make([]byte, headerLen, headerLen+len(plaintext)+1+tagLen)
	copy(out, salt)
	binary.BigEndian.PutUint32(out[saltLen:], recordSize)
	out[saltLen+4] = keyLen
	copy(out[saltLen+5:], asPublic)
	record := make([]byte, 0, len(plaintext)+1)
	record = append(append(record, plaintext...), 0x02) // 0x02: the last (and only) record
	// The only record has sequence number 0, so the nonce is used as is.
	return gcm.Seal(out, nonce, record, nil), nil
}
