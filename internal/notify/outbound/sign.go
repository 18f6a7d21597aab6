package outbound

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of every delivery.
const (
	HeaderSignature = "X-Lastmile-Signature"  // t=<unix seconds>,v1=<hex HMAC-SHA256>
	HeaderEventID   = "X-Lastmile-Event-Id"   // the payload's id
	HeaderEventType = "X-Lastmile-Event-Type" // the payload's eventType
	userAgent       = "lastmile-webhooks"
)

// Verification errors.
var (
	ErrNoSignature        = errors.New("the signature header is missing or malformed")
	ErrSignatureMismatch  = errors.New("no signature matches the body and secret")
	ErrTimestampTolerance = errors.New("the signature's timestamp is outside the tolerance (a replay or a wrong clock)")
)

// Sign returns the signature header value for body sent at t: the HMAC
// covers the timestamp too, so a captured request cannot be replayed
// later with a fresh one.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a X-Lastmile-Signature header against the raw body and
// the webhook's secret (the secret's text, as shown when it was made). The
// header may hold several v1 values; one matching is enough. With
// tolerance > 0 the timestamp must also be within tolerance of now.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		ok = hmac.Equal(s, want) || ok
	}
	if !ok {
		return ErrSignatureMismatch
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
			return ErrTimestampTolerance
		}
	}
	return nil
}
