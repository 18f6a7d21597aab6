package push

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/notify/push/pushtest"
)

// The key is made once and shared: a second channel (another server
// instance) on the same key store signs with the same key, which is the one
// PublicKey hands to browsers.
func TestVAPIDKeySharedAndPublished(t *testing.T) {
	f := newFixture(t, `{}`)
	if err := f.ch.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.keys.created != 1 || len(f.keys.keys[keyName]) != 32 {
		t.Fatalf("created %d keys, stored %d bytes; want one 32-byte scalar", f.keys.created, len(f.keys.keys[keyName]))
	}
	k, err := PublicKey(context.Background(), f.keys)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil || len(raw) != 65 || raw[0] != 4 {
		t.Fatalf("public key %q is not an unpadded base64url uncompressed point", k)
	}
	other, err := New(nil, f.ch.deps)
	if err != nil {
		t.Fatal(err)
	}
	addr := f.srv.SubscribeWithKey("ana", k) // a restricted subscription, like a browser's
	for _, ch := range []*Channel{f.ch, other} {
		if _, err := ch.Send(context.Background(), alertMessage(addr)); err != nil {
			t.Fatal(err)
		}
	}
	if f.keys.created != 1 {
		t.Errorf("created %d keys", f.keys.created)
	}
	if got := len(f.srv.Delivered("ana")); got != 2 {
		t.Errorf("%d of 2 delivered: %+v", got, f.srv.Pushes())
	}
}

type failingKeys struct{}

func (failingKeys) GetOrCreate(context.Context, string, func() ([]byte, error)) ([]byte, error) {
	return nil, errors.New("database is down")
}

func TestCheckReportsKeyStoreFailure(t *testing.T) {
	f := newFixture(t, `{}`)
	f.ch.deps.Keys = failingKeys{}
	if err := f.ch.Check(context.Background()); err == nil {
		t.Fatal("Check passed without a key")
	}
	_, err := f.ch.Send(context.Background(), alertMessage(f.srv.Subscribe("x")))
	if err == nil {
		t.Fatal("sent without a key")
	}
}

func TestVAPIDToken(t *testing.T) {
	keys := &memKeys{}
	v, err := loadVAPID(context.Background(), keys)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	h, err := v.authorization("https://fcm.googleapis.com", "mailto:ops@example.com", now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pushtest.ParseVAPID(h)
	if err != nil {
		t.Fatal(err)
	}
	want := pushtest.Claims{Aud: "https://fcm.googleapis.com", Exp: now.Add(12 * time.Hour), Sub: "mailto:ops@example.com"}
	if got.Claims != want || got.Key != v.k {
		t.Errorf("claims %+v key %s; want %+v %s", got.Claims, got.Key, want, v.k)
	}
	if err := got.Claims.Check("https://fcm.googleapis.com", now); err != nil {
		t.Error(err)
	}
	// A key read back from the store signs the same way.
	again, err := loadVAPID(context.Background(), keys)
	if err != nil || again.k != v.k {
		t.Fatalf("reloaded key %v %v", again, err)
	}
}
