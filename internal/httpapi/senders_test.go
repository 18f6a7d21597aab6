package httpapi_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// senderFixture is what one real integration sends, learned from its public
// source, with what lastmile must make of it (testdata/senders/*.json).
type senderFixture struct {
	Sender string `json:"sender"`
	Source string `json:"source"`
	Steps  []struct {
		Name    string            `json:"name"`
		Method  string            `json:"method"`
		Query   string            `json:"query"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
		Expect  struct {
			HTTPStatus  int               `json:"httpStatus"`
			EventStatus string            `json:"eventStatus"`
			Title       *string           `json:"title"`
			Text        *string           `json:"text"`
			ExternalID  *string           `json:"externalId"`
			AlertStatus string            `json:"alertStatus"`
			Params      map[string]string `json:"params"`
		} `json:"expect"`
	} `json:"steps"`
}

func TestRealSenders(t *testing.T) {
	files, err := filepath.Glob("testdata/senders/*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("want at least 10 sender fixtures, found %d (%v)", len(files), err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var fx senderFixture
		if err := json.Unmarshal(b, &fx); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			e := sqliteEnv(t)
			for _, st := range fx.Steps {
				path := "/webhook/" + e.secret
				if st.Query != "" {
					path += "?" + st.Query
				}
				r := e.do(st.Method, path, strings.NewReader(st.Body), st.Headers)
				want := st.Expect
				if r.status != want.HTTPStatus {
					t.Fatalf("%s: status %d, want %d: %s", st.Name, r.status, want.HTTPStatus, r.body)
				}
				eventID, _ := r.json(t)["eventId"].(string)
				ev := e.event(eventID)
				if ev.Status != want.EventStatus {
					t.Fatalf("%s: event status %q (%s), want %q", st.Name, ev.Status, ev.Reason, want.EventStatus)
				}
				if want.AlertStatus == "" {
					continue
				}
				if ev.AlertID == "" {
					t.Fatalf("%s: event has no alert", st.Name)
				}
				a := e.alert(ev.AlertID)
				if string(a.Status) != want.AlertStatus {
					t.Errorf("%s: alert status %q, want %q", st.Name, a.Status, want.AlertStatus)
				}
				if want.EventStatus != "created" {
					continue // title, text and parameters are those of the first event
				}
				if want.Title != nil && a.Title != *want.Title {
					t.Errorf("%s: title %q, want %q", st.Name, a.Title, *want.Title)
				}
				if want.Text != nil && a.Text != *want.Text {
					t.Errorf("%s: text %q, want %q", st.Name, a.Text, *want.Text)
				}
				wantExt := ""
				if want.ExternalID != nil {
					wantExt = *want.ExternalID
				}
				if a.ExternalID != wantExt {
					t.Errorf("%s: external id %q, want %q", st.Name, a.ExternalID, wantExt)
				}
				for name, v := range want.Params {
					if got, ok := param(a, name); !ok || got != v {
						t.Errorf("%s: parameter %q = %q (present %v), want %q", st.Name, name, got, ok, v)
					}
				}
			}
		})
	}
}
