package outbound_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/notify/outbound"
)

func TestSignAndVerify(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"eventType":1}`)
	now := time.Unix(1772442000, 0)
	sig := outbound.Sign(secret, body, now)

	// The documented construction, computed independently.
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%d.%s", now.Unix(), body)
	if want := fmt.Sprintf("t=%d,v1=%s", now.Unix(), hex.EncodeToString(m.Sum(nil))); sig != want {
		t.Fatalf("Sign = %s, want %s", sig, want)
	}

	other := outbound.Sign([]byte("other"), body, now)
	cases := []struct {
		name      string
		secret    []byte
		header    string
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{"valid", secret, sig, body, now, 5 * time.Minute, nil},
		{"valid a bit later", secret, sig, body, now.Add(4 * time.Minute), 5 * time.Minute, nil},
		{"spaces and order", secret, " v1=" + sig[len("t=1772442000,v1="):] + " , t=1772442000", body, now, time.Minute, nil},
		{"one of several", secret, other + ",v1=" + sig[len("t=1772442000,v1="):], body, now, time.Minute, nil},
		{"no tolerance", secret, sig, body, now.Add(24 * time.Hour), 0, nil},
		{"tampered body", secret, sig, []byte(`{"eventType":2}`), now, time.Minute, outbound.ErrSignatureMismatch},
		{"wrong secret", []byte("guess"), sig, body, now, time.Minute, outbound.ErrSignatureMismatch},
		{"other timestamp", secret, "t=1772442001,v1=" + sig[len("t=1772442000,v1="):], body, now, time.Minute, outbound.ErrSignatureMismatch},
		{"replayed later", secret, sig, body, now.Add(6 * time.Minute), 5 * time.Minute, outbound.ErrTimestampTolerance},
		{"from the future", secret, sig, body, now.Add(-6 * time.Minute), 5 * time.Minute, outbound.ErrTimestampTolerance},
		{"empty", secret, "", body, now, time.Minute, outbound.ErrNoSignature},
		{"no v1", secret, "t=1772442000", body, now, time.Minute, outbound.ErrNoSignature},
		{"no t", secret, "v1=" + sig[len("t=1772442000,v1="):], body, now, time.Minute, outbound.ErrNoSignature},
		{"old style", secret, "sha256=abcdef", body, now, time.Minute, outbound.ErrNoSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := outbound.Verify(tc.secret, tc.header, tc.body, tc.now, tc.tolerance); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}
