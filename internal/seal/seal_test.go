package seal

import (
	"bytes"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	s := b.Seal([]byte("token-123"), "channel_settings/twilio")
	if strings.Contains(s, "token-123") {
		t.Fatalf("sealed value shows the secret: %s", s)
	}
	if s2 := b.Seal([]byte("token-123"), "channel_settings/twilio"); s2 == s {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	got, err := b.Open(s, "channel_settings/twilio")
	if err != nil || !bytes.Equal(got, []byte("token-123")) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := b.Open(s, "channel_settings/email"); err == nil {
		t.Fatal("a value opened in another context")
	}
	other, _ := New(bytes.Repeat([]byte{7}, KeySize))
	if _, err := other.Open(s, "channel_settings/twilio"); err == nil {
		t.Fatal("a value opened with another key")
	}
	if _, err := b.Open(s[:len(s)-3], "channel_settings/twilio"); err == nil {
		t.Fatal("a damaged value opened")
	}
}

func TestParseKey(t *testing.T) {
	for _, in := range []string{
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	} {
		k, err := ParseKey(in)
		if err != nil || k[31] != 0x1f || k[1] != 1 {
			t.Errorf("ParseKey(%q) = %x, %v", in, k, err)
		}
	}
	for _, in := range []string{"", "short", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="} {
		if _, err := ParseKey(in); err == nil {
			t.Errorf("ParseKey(%q) accepted", in)
		}
	}
}

func TestMaskAndKeepNestedSecrets(t *testing.T) {
	secrets := []string{"clientSecret", "log.sharedKey"}
	stored := []byte(`{"clientId":"c","clientSecret":"s1","log":{"mode":"datacollector","sharedKey":"k1"}}`)
	shown := string(MaskJSON(stored, secrets))
	if strings.Contains(shown, "s1") || strings.Contains(shown, "k1") || strings.Count(shown, Masked) != 2 {
		t.Fatalf("masked: %s", shown)
	}
	if p, ok := HasMasked([]byte(shown), secrets); !ok || p != "clientSecret" {
		t.Fatalf("HasMasked = %q, %v", p, ok)
	}
	back, err := KeepSecrets([]byte(shown), stored, secrets)
	if err != nil || !strings.Contains(string(back), `"s1"`) || !strings.Contains(string(back), `"k1"`) {
		t.Fatalf("saved back: %s, %v", back, err)
	}
	changed, _ := KeepSecrets([]byte(`{"clientSecret":"s2","log":{"mode":"ingestion"}}`), stored, secrets)
	if !strings.Contains(string(changed), `"s2"`) || !strings.Contains(string(changed), `"k1"`) {
		t.Fatalf("new secret and kept nested one: %s", changed)
	}
	dropped, _ := KeepSecrets([]byte(`{"clientSecret":"s2"}`), stored, secrets)
	if strings.Contains(string(dropped), "k1") {
		t.Fatalf("a removed log section came back: %s", dropped)
	}
	fresh, _ := KeepSecrets([]byte(`{"clientSecret":"********"}`), []byte(`{}`), secrets)
	if strings.Contains(string(fresh), Masked) {
		t.Fatalf("the mask was stored as a secret: %s", fresh)
	}
}
