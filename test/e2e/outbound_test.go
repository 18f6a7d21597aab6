package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/store/storetest"
)

// A team's outbound webhook receives SIGNL4's events, signed, as an
// alert opens and is acknowledged.
func TestOutboundWebhookGetsSignedSIGNL4Events(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			s := startWithChannels(t, storetest.URL(t, d))
			type got struct {
				body []byte
				sig  string
			}
			var mu sync.Mutex
			var events []got
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				events = append(events, got{b, r.Header.Get(outbound.HeaderSignature)})
				mu.Unlock()
			}))
			defer rcv.Close()
			created := s.call("POST", "/api/v1/teams/"+s.teamID+"/outbound-webhooks", map[string]any{"url": rcv.URL + "/signl4", "events": []int{200, 201}}, 201)
			secret, _ := created["secret"].(string)
			id := s.raise("db down")
			s.until("the push", func() bool { return len(s.push.Delivered("ann")) == 1 })
			s.call("POST", "/api/v1/alerts/"+id+"/acknowledge", nil, 200)
			count := func() int { mu.Lock(); defer mu.Unlock(); return len(events) }
			s.until("two events", func() bool { return count() >= 2 })
			mu.Lock()
			defer mu.Unlock()
			want := []struct{ eventType, status int }{{200, 1}, {201, 2}}
			for i, e := range events[:2] {
				if err := outbound.Verify([]byte(secret), e.sig, e.body, time.Now(), 0); err != nil {
					t.Fatalf("event %d: signature: %v", i, err)
				}
				var p struct {
					EventType int                 `json:"eventType"`
					Team      struct{ ID string } `json:"team"`
					Alert     struct {
						ID         string `json:"id"`
						StatusCode int    `json:"statusCode"`
					} `json:"alert"`
					ID string `json:"id"`
				}
				if err := json.Unmarshal(e.body, &p); err != nil {
					t.Fatal(err)
				}
				if p.EventType != want[i].eventType || p.Alert.StatusCode != want[i].status || p.Alert.ID != id || p.Team.ID != s.teamID || p.ID == "" {
					t.Fatalf("event %d: %s", i, e.body)
				}
			}
		})
	}
}
