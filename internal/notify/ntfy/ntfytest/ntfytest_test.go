package ntfytest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify/ntfy/ntfytest"
)

func TestFakeRefusesWhatNtfyRefuses(t *testing.T) {
	srv := ntfytest.New(t)
	for body, want := range map[string]string{
		`{"topic":"a b"}`:            `"code":40009`,
		`{"topic":"t","priority":6}`: `"code":40007`,
		`{"topic":"t","titel":"x"}`:  `unknown field`,
		`{"topic":"t","actions":[{"action":"http","label":"a","url":"https://x"},{"action":"http","label":"b","url":"https://x"},{"action":"http","label":"c","url":"https://x"},{"action":"view","label":"d","url":"https://x"}]}`: `"code":40018`,
		`{"topic":"t","actions":[{"action":"http","label":"a"}]}`:       `url is required`,
		`{"topic":"t","actions":[{"action":"dance","label":"a"}]}`:      `not supported`,
		`{"topic":"t","actions":[{"action":"view","url":"https://x"}]}`: `label is required`,
	} {
		resp, err := http.Post(srv.URL+"/", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %s, want 400 with %s", body, resp.StatusCode, b, want)
		}
	}
	if len(srv.Publishes()) != 0 {
		t.Error("refused publishes were recorded")
	}
	resp, err := http.Post(srv.URL+"/", "application/json", strings.NewReader(`{"topic":"ok"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
	if p := srv.Publishes(); len(p) != 1 || p[0].Topic != "ok" || p[0].ID == "" {
		t.Errorf("publishes %+v", p)
	}
}
