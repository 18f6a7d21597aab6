package pushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Decrypt opens an aes128gcm push message body (RFC 8188 framing, RFC 8291
// keys) with the subscription's private key and auth secret, as a browser
// does. It refuses anything a browser would: more than one record, a key id
// that is not a P-256 point, a failed tag, a wrong padding delimiter.
//
// It is written from the RFCs independently of the sender in package push,
// spelling HKDF out as the HMAC steps RFC 8291 §3.4 lists, so that the two
// agreeing means something.
func Decrypt(body []byte, uaPrivate *ecdh.PrivateKey, authSecret []byte) ([]byte, error) {
	// RFC 8188 §2.1: salt(16) | rs(4) | idlen(1) | keyid(idlen) | records.
	if len(body) < 21 {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt := body[:16]
	rs := binary.BigEndian.Uint32(body[16:20])
	idlen := int(body[20])
	if rs < 18 {
		return nil, fmt.Errorf("record size %d is below the minimum of 18", rs)
	}
	if idlen != 65 {
		return nil, fmt.Errorf("key id is %d bytes; Web Push needs the sender's 65-byte public key", idlen)
	}
	if len(body) < 21+idlen {
		return nil, errors.New("body shorter than its key id")
	}
	asPublic := body[21 : 21+idlen]
	record := body[21+idlen:]
	if uint64(len(record)) > uint64(rs) {
		return nil, fmt.Errorf("body holds more than one record (%d bytes, record size %d): Web Push allows one", len(record), rs)
	}
	if len(record) < 17 {
		return nil, errors.New("record shorter than a tag and a delimiter")
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("key id is not a P-256 point: %w", err)
	}
	shared, err := uaPrivate.ECDH(as)
	if err != nil {
		return nil, err
	}
	uaPublic := uaPrivate.PublicKey().Bytes()

	// RFC 8291 §3.4, each HKDF written out (one output block each).
	prkKey := mac(authSecret, shared)
	keyInfo := concat([]byte("WebPush: info"), []byte{0}, uaPublic, asPublic)
	ikm := mac(prkKey, concat(keyInfo, []byte{1}))
	prk := mac(salt, ikm)
	cek := mac(prk, []byte("Content-Encoding: aes128gcm\x00\x01"))[:16]
	nonce := mac(prk, []byte("Content-Encoding: nonce\x00\x01"))[:12]

	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// Sequence number 0: the nonce XOR 0 is the nonce.
	padded, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	// RFC 8188 §2: plaintext, then a delimiter (2 for the last record), then
	// zero or more zero bytes.
	i := len(padded) - 1
	for i >= 0 && padded[i] == 0 {
		i--
	}
	if i < 0 {
		return nil, errors.New("record has no padding delimiter")
	}
	if padded[i] != 2 {
		return nil, fmt.Errorf("padding delimiter is %#x; the only record must end with 0x02", padded[i])
	}
	return padded[:i], nil
}

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
