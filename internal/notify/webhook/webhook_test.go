package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify"
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
	m := notify.Message{NotificationID: "n1", AlertID: "a1", TeamID: "t1", UserID: "u1", Address: srv.URL + "/hook", Kind: "alert", Title: "Disk full"}
	if _, err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if gotSig != Sign([]byte("s3cret"), gotBody) {
		t.Fatalf("signature %q does not match the body", gotSig)
	}
	var p map[string]any
	json.Unmarshal(gotBody, &p)
	if p["id"] != "n1" || p["alert"].(map[string]any)["title"] != "Disk full" {
		t.Fatalf("payload %s", gotBody)
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
