package pushtest

import (
	"encoding/base64"
	"strings"
	"testing"
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const rfcBody = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"

func rfcBrowser(t *testing.T) *Browser {
	t.Helper()
	b, err := BrowserFromKeys(b64(t, "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"), b64(t, "BTBZMqHH6r4Tts7J_aSIgg"))
	if err != nil {
		t.Fatal(err)
	}
	if b.P256dh() != "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4" {
		t.Fatalf("ua_public = %s", b.P256dh())
	}
	return b
}

// RFC 8291 Appendix A, from the receiving side.
func TestDecryptRFC8291Example(t *testing.T) {
	got, err := rfcBrowser(t).Decrypt(b64(t, rfcBody))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "When I grow up, I want to be a watermelon" {
		t.Errorf("plaintext %q", got)
	}
}

func TestDecryptRefuses(t *testing.T) {
	body := func(t *testing.T, change func([]byte) []byte) []byte { return change(b64(t, rfcBody)) }
	tests := []struct {
		name   string
		change func([]byte) []byte
		want   string
	}{
		{"flipped ciphertext bit", func(b []byte) []byte { b[100] ^= 1; return b }, "decrypt"},
		{"flipped salt bit", func(b []byte) []byte { b[0] ^= 1; return b }, "decrypt"},
		{"truncated", func(b []byte) []byte { return b[:90] }, "shorter than a tag"},
		{"header only", func(b []byte) []byte { return b[:20] }, "shorter than the aes128gcm header"},
		{"short key id", func(b []byte) []byte { b[20] = 64; return b }, "key id is 64 bytes"},
		{"record size too small", func(b []byte) []byte { b[16], b[17], b[18], b[19] = 0, 0, 0, 17; return b }, "below the minimum"},
		{"two records", func(b []byte) []byte { b[16], b[17], b[18], b[19] = 0, 0, 0, 40; return b }, "more than one record"},
		{"key id off the curve", func(b []byte) []byte { b[22] ^= 1; return b }, "not a P-256 point"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rfcBrowser(t).Decrypt(body(t, tt.change))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestSubscriptionJSON(t *testing.T) {
	b := rfcBrowser(t)
	got := b.Subscription("https://push.example/a?b=1&c=2")
	want := `{"endpoint":"https://push.example/a?b=1&c=2","expirationTime":null,"keys":{"p256dh":"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4","auth":"BTBZMqHH6r4Tts7J_aSIgg"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
