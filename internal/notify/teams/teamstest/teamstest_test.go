package teamstest

import (
	"net/http"
	"strings"
	"testing"
)

func TestFakeChecksLikeTeams(t *testing.T) {
	s := New(t)
	card := func(content string) string {
		return `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"content":` + content + `}]}`
	}
	good := `{"type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":"hi"}],"actions":[{"type":"Action.OpenUrl","title":"Open","url":"https://x.example/a"}]}`
	for _, tc := range []struct {
		name, url, ctype, body string
		status                 int
	}{
		{"good workflow", s.WorkflowURL("a"), "application/json", card(good), 202},
		{"good legacy", s.LegacyURL("a"), "application/json; charset=utf-8", card(good), 200},
		{"no sig", s.URL + "/workflows/a/triggers/manual/paths/invoke?api-version=1", "application/json", card(good), 401},
		{"unknown path", s.URL + "/elsewhere", "application/json", card(good), 404},
		{"not JSON content type", s.WorkflowURL("a"), "text/plain", card(good), 415},
		{"not JSON", s.WorkflowURL("a"), "application/json", `{`, 400},
		{"not a message", s.WorkflowURL("a"), "application/json", strings.Replace(card(good), `"message"`, `"card"`, 1), 400},
		{"two attachments", s.WorkflowURL("a"), "application/json", strings.Replace(card(good), `}]}`, `},{"contentType":"x"}]}`, 1), 400},
		{"wrong content type", s.WorkflowURL("a"), "application/json", strings.Replace(card(good), "card.adaptive", "card.hero", 1), 400},
		{"version too new", s.WorkflowURL("a"), "application/json", card(strings.Replace(good, "1.4", "1.6", 1)), 400},
		{"empty body", s.WorkflowURL("a"), "application/json", card(`{"type":"AdaptiveCard","version":"1.4","body":[]}`), 400},
		{"empty text", s.WorkflowURL("a"), "application/json", card(`{"type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":""}]}`), 400},
		{"relative url", s.WorkflowURL("a"), "application/json", card(strings.Replace(good, "https://x.example/a", "/a", 1)), 400},
		{"submit", s.WorkflowURL("a"), "application/json", card(strings.Replace(good, "Action.OpenUrl", "Action.Submit", 1)), 400},
		{"too large", s.WorkflowURL("a"), "application/json", card(strings.Replace(good, `"hi"`, `"`+strings.Repeat("x", MaxBytes)+`"`, 1)), 413},
	} {
		resp, err := http.Post(tc.url, tc.ctype, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	cards := s.Cards()
	if len(cards) != 2 || cards[0].Texts[0] != "hi" || cards[1].Actions[0].URL != "https://x.example/a" || !cards[1].Legacy {
		t.Errorf("cards %+v", cards)
	}
	s.FailNext(429, "")
	resp, _ := http.Post(s.WorkflowURL("a"), "application/json", strings.NewReader(card(good)))
	resp.Body.Close()
	if resp.StatusCode != 429 || len(s.Cards()) != 2 {
		t.Errorf("FailNext: %d, %d cards", resp.StatusCode, len(s.Cards()))
	}
}
