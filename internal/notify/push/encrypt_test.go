package push

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/lastmile/lastmile/internal/notify/push/pushtest"
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 8291 Appendix A: with the example's keys and salt the body must come
// out byte for byte as printed there.
func TestEncryptRFC8291Example(t *testing.T) {
	as, err := ecdh.P256().NewPrivateKey(b64(t, "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(as.PublicKey().Bytes()); got != "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8" {
		t.Fatalf("as_public = %s", got)
	}
	body, err := encrypt(
		[]byte("When I grow up, I want to be a watermelon"),
		b64(t, "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
		b64(t, "BTBZMqHH6r4Tts7J_aSIgg"),
		as,
		b64(t, "DGv6ra1nlYgDCS1FRnbzlw"),
	)
	if err != nil {
		t.Fatal(err)
	}
	want := "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
	if got := base64.RawURLEncoding.EncodeToString(body); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
}

// seal's output opens with the independent decryptor in pushtest, up to the
// largest plaintext a push message can carry, and nothing larger is sealed.
func TestSealOpensInBrowser(t *testing.T) {
	b := pushtest.NewBrowser()
	sub, err := parseSubscription(b.Subscription("https://push.example/x"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 100, maxPlaintext} {
		pt := make([]byte, n)
		rand.Read(pt)
		body, err := seal(pt, sub.uaPublic, sub.auth)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if len(body) > maxBody {
			t.Errorf("%d bytes sealed into %d, more than %d", n, len(body), maxBody)
		}
		got, err := b.Decrypt(body)
		if err != nil {
			t.Fatalf("%d bytes: decrypt: %v", n, err)
		}
		if !bytes.Equal(got, pt) {
			t.Errorf("%d bytes: round trip changed the plaintext", n)
		}
	}
	if _, err := seal(make([]byte, maxPlaintext+1), sub.uaPublic, sub.auth); err == nil {
		t.Errorf("sealed %d bytes, more than fit in 4096", maxPlaintext+1)
	}
	// Fresh salt and ephemeral key each time.
	a, _ := seal([]byte("x"), sub.uaPublic, sub.auth)
	c, _ := seal([]byte("x"), sub.uaPublic, sub.auth)
	if bytes.Equal(a[:headerLen], c[:headerLen]) {
		t.Error("two messages share salt and key id")
	}
}
