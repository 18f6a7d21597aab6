package pushtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// sign makes a VAPID header by hand, so the parser is tested apart from
// lastmile's signer.
func sign(t *testing.T, key *ecdsa.PrivateKey, header, claims string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	d := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	pub, err := key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return "vapid t=" + in + "." + enc.EncodeToString(sig) + ", k=" + enc.EncodeToString(pub)
}

func TestParseVAPID(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const hdr = `{"typ":"JWT","alg":"ES256"}`
	const claims = `{"aud":"https://push.example","exp":1900000000,"sub":"mailto:a@b.example"}`
	good := sign(t, key, hdr, claims)

	v, err := ParseVAPID(good)
	if err != nil {
		t.Fatal(err)
	}
	want := Claims{Aud: "https://push.example", Exp: time.Unix(1900000000, 0).UTC(), Sub: "mailto:a@b.example"}
	if v.Claims != want {
		t.Errorf("claims %+v", v.Claims)
	}

	otherK := sign(t, other, hdr, claims)
	swapped := good[:strings.Index(good, ", k=")] + otherK[strings.Index(otherK, ", k="):]
	for _, tt := range []struct{ name, header, want string }{
		{"other scheme", strings.Replace(good, "vapid", "WebPush", 1), `scheme is not "vapid"`},
		{"no k", good[:strings.Index(good, ", k=")], "lacks t= or k="},
		{"signed by another key", swapped, "does not verify"},
		{"HS256", sign(t, key, `{"typ":"JWT","alg":"HS256"}`, claims), "not ES256"},
		{"exp not a number", sign(t, key, hdr, `{"aud":"x","exp":"soon"}`), "JWT claims"},
		{"two parts", "vapid t=a.b, k=" + good[strings.Index(good, "k=")+2:], "three parts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseVAPID(tt.header); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestClaimsCheck(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := Claims{Aud: "https://push.example", Exp: now.Add(12 * time.Hour), Sub: "mailto:a@b.example"}
	for _, tt := range []struct {
		name   string
		change func(*Claims)
		want   string
	}{
		{"good", func(*Claims) {}, ""},
		{"https sub", func(c *Claims) { c.Sub = "https://lastmile.example" }, ""},
		{"24 hours exactly", func(c *Claims) { c.Exp = now.Add(24 * time.Hour) }, ""},
		{"other audience", func(c *Claims) { c.Aud = "https://fcm.googleapis.com" }, "not this push service's origin"},
		{"expired", func(c *Claims) { c.Exp = now }, "JWT expired"},
		{"too far ahead", func(c *Claims) { c.Exp = now.Add(24*time.Hour + time.Second) }, "more than 24 hours"},
		{"no sub", func(c *Claims) { c.Sub = "" }, "neither mailto: nor https:"},
		{"bare email sub", func(c *Claims) { c.Sub = "a@b.example" }, "neither mailto: nor https:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			err := c.Check("https://push.example", now)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}
