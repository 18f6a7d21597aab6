package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/outbound"
)

func TestSendSignsAndClassifies(t *testing.T) {
	var gotBody []byte
	var gotSig string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		gotSig = r.Header.Get("X-Lastmile-Signature")
		w.WriteHeader(status)
	}))
	defer srv.Close()
	c := New(Options{Secret: []byte("s3cret"), AllowPrivate: true})
	m := notify.Message{NotificationID: "n1", AlertID: "a1", TeamID: "t1", UserID: "u1", Address: srv.URL + "/hook", Kind: "alert", Title: "Disk full",
		AlertURL: "https://lm.example/alerts/a1", Actions: []notify.Action{{Name: "acknowledge", Label: "Acknowledge", URL: "https://lm.example/actions/tok", Token: "tok"}}}
	if _, err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := outbound.Verify([]byte("s3cret"), gotSig, gotBody, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature %q does not match the body", gotSig)
	}
	var p map[string]any
	json.Unmarshal(gotBody, &p)
	if p["id"] != "n1" || p["alert"].(map[string]any)["title"] != "Disk full" || p["alert"].(map[string]any)["url"] != "https://lm.example/alerts/a1" {
		t.Fatalf("payload %s", gotBody)
	}
	if acts, _ := p["actions"].([]any); len(acts) != 1 || acts[0].(map[string]any)["url"] != "https://lm.example/actions/tok" {
		t.Fatalf("actions in %s", gotBody)
	}
	if err := outbound.Verify([]byte("s3cret"), gotSig, []byte(strings.Replace(string(gotBody), "Disk", "Dusk", 1)), time.Now(), time.Minute); err == nil {
		t.Fatal("a changed body verified")
	}
	for code, permanent := range map[int]bool{500: false, 503: false, 429: false, 408: false, 400: true, 404: true, 410: true} {
		status = code
		_, err := c.Send(context.Background(), m)
		if err == nil || notify.IsPermanent(err) != permanent {
			t.Errorf("status %d: err %v, permanent %v", code, err, notify.IsPermanent(err))
		}
	}
}

func TestPrivateTargetsAreRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a request reached a loopback target")
	}))
	defer srv.Close()
	c := New(Options{})
	for _, addr := range []string{srv.URL, "http://127.0.0.1:9/x", "http://[::1]:9/x", "http://10.0.0.1:9/x", "http://169.254.169.254/latest/meta-data"} {
		_, err := c.Send(context.Background(), notify.Message{NotificationID: "n", Address: addr})
		if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "private") {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if _, err := c.Send(context.Background(), notify.Message{Address: "ftp://example.com/x"}); !notify.IsPermanent(err) {
		t.Errorf("ftp: %v", err)
	}
}
