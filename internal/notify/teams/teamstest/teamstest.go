// Package teamstest is a fake Microsoft Teams webhook for tests. It serves
// Workflows URLs (answering 202 Accepted) and legacy Office 365 connector
// URLs (answering 200 "1"), checks each post the way Teams does (a
// "message" with one Adaptive Card attachment, a card version Teams shows,
// a body, absolute action URLs, no bot-only actions, the size limit), and
// answers 400 otherwise. It records the cards it took, and can be told to
// fail.
//
//	tm := teamstest.New(t)
//	address := tm.WorkflowURL("oncall")
//	… send …
//	card := tm.Cards()[0]
//	card.Texts, card.Facts, card.Actions
package teamstest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// MaxBytes is the largest post Teams takes (its documented 28 KB).
const MaxBytes = 28 << 10

// Card is one card the fake took.
type Card struct {
	// Name is the workflow's or connector's name in the URL.
	Name string
	// Legacy says it came through a connector URL, not a workflow.
	Legacy bool
	// Body is the JSON received, byte for byte.
	Body json.RawMessage
	// Content is attachments[0].content: the Adaptive Card.
	Content json.RawMessage
	// Version is the card's version.
	Version string
	// Texts lists the text of every TextBlock, containers included, in
	// order.
	Texts []string
	// Facts lists the facts of every FactSet, in order.
	Facts []Fact
	// Actions lists the card's actions.
	Actions []Action
}

// Fact is one fact of a FactSet.
type Fact struct{ Title, Value string }

// Action is one action of a card.
type Action struct{ Type, Title, URL, Style string }

// Action returns the card's action titled title.
func (c Card) Action(title string) (Action, bool) {
	for _, a := range c.Actions {
		if a.Title == title {
			return a, true
		}
	}
	return Action{}, false
}

type failure struct {
	status int
	body   string
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the fake's base URL.
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	cards    []Card
	rejected []string
	fails    []failure
}

// New starts a fake Teams on 127.0.0.1, stopped when the test ends.
func New(t testing.TB) *Server {
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("/workflows/{name}/triggers/manual/paths/invoke", s.workflow)
	mux.HandleFunc("/webhookb2/{name}/", s.legacy)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the fake (New also arranges that when the test ends).
func (s *Server) Close() { s.srv.Close() }

// WorkflowURL is the URL of a Workflows webhook named name, shaped like
// Microsoft's (the sig parameter is its credential).
func (s *Server) WorkflowURL(name string) string {
	return s.URL + "/workflows/" + url.PathEscape(name) + "/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=fake-sig-" + url.QueryEscape(name)
}

// LegacyURL is the URL of an Office 365 connector named name.
func (s *Server) LegacyURL(name string) string {
	return s.URL + "/webhookb2/" + url.PathEscape(name) + "/IncomingWebhook/0000/1111"
}

// FailNext makes the next post answer status with body, e.g. (429, "")
// or (404, `{"error":{"code":"WorkflowNotFound"}}`). Calls queue up.
func (s *Server) FailNext(status int, body string) {
	s.mu.Lock()
	s.fails = append(s.fails, failure{status, body})
	s.mu.Unlock()
}

// Cards returns the cards taken, in order.
func (s *Server) Cards() []Card {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Card(nil), s.cards...)
}

// Rejected returns why each refused post was refused, in order.
func (s *Server) Rejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

func (s *Server) workflow(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("sig") == "" {
		s.refuse(w, http.StatusUnauthorized, "DirectApiAuthorizationRequired", "the request has no sig")
		return
	}
	s.take(w, r, false)
}

func (s *Server) legacy(w http.ResponseWriter, r *http.Request) { s.take(w, r, true) }

func (s *Server) take(w http.ResponseWriter, r *http.Request, legacy bool) {
	s.mu.Lock()
	var f *failure
	if len(s.fails) > 0 {
		f = &s.fails[0]
		s.fails = s.fails[1:]
	}
	s.mu.Unlock()
	if f != nil {
		if strings.HasPrefix(strings.TrimSpace(f.body), "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
		return
	}
	if r.Method != http.MethodPost {
		s.refuse(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use POST")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.refuse(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type is not application/json")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBytes+1))
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "InvalidRequestContent", "cannot read the body")
		return
	}
	if len(body) > MaxBytes {
		s.refuse(w, http.StatusRequestEntityTooLarge, "MessageTooLarge", "the message is larger than 28 KB")
		return
	}
	c, problem := check(body)
	if problem != "" {
		s.refuse(w, http.StatusBadRequest, "InvalidRequestContent", problem)
		return
	}
	c.Name, c.Legacy = r.PathValue("name"), legacy
	s.mu.Lock()
	s.cards = append(s.cards, c)
	s.mu.Unlock()
	if legacy {
		io.WriteString(w, "1")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) refuse(w http.ResponseWriter, status int, code, why string) {
	s.mu.Lock()
	s.rejected = append(s.rejected, why)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": why}})
}

// element is any card element or action, read loosely.
type element struct {
	Type    string          `json:"type"`
	Text    *string         `json:"text"`
	Items   []element       `json:"items"`
	Columns []element       `json:"columns"`
	Facts   []Fact          `json:"facts"`
	Actions []element       `json:"actions"`
	Title   string          `json:"title"`
	URL     string          `json:"url"`
	Style   string          `json:"style"`
	Card    json.RawMessage `json:"card"`
}

// check reads body as Teams does and says what is wrong with it, if
// anything.
func check(body []byte) (Card, string) {
	var env struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string          `json:"contentType"`
			ContentURL  *string         `json:"contentUrl"`
			Content     json.RawMessage `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return Card{}, "the body is not JSON: " + err.Error()
	}
	if env.Type != "message" {
		return Card{}, fmt.Sprintf("type is %q, not \"message\"", env.Type)
	}
	if len(env.Attachments) != 1 {
		return Card{}, fmt.Sprintf("%d attachments, not 1", len(env.Attachments))
	}
	a := env.Attachments[0]
	if a.ContentType != "application/vnd.microsoft.card.adaptive" {
		return Card{}, fmt.Sprintf("contentType is %q, not an Adaptive Card", a.ContentType)
	}
	if a.ContentURL != nil {
		return Card{}, "contentUrl must be null for an inline card"
	}
	var content struct {
		Type    string    `json:"type"`
		Version string    `json:"version"`
		Body    []element `json:"body"`
		Actions []element `json:"actions"`
	}
	if err := json.Unmarshal(a.Content, &content); err != nil {
		return Card{}, "content is not a card: " + err.Error()
	}
	if content.Type != "AdaptiveCard" {
		return Card{}, fmt.Sprintf("content type is %q, not \"AdaptiveCard\"", content.Type)
	}
	if major, minor, ok := strings.Cut(content.Version, "."); !ok || major != "1" || !oneDigit(minor) || minor > "5" {
		return Card{}, fmt.Sprintf("card version %q: Teams shows 1.0 to 1.5", content.Version)
	}
	if len(content.Body) == 0 {
		return Card{}, "the card's body is empty"
	}
	c := Card{Body: body, Content: a.Content, Version: content.Version}
	if p := c.walk(content.Body); p != "" {
		return Card{}, p
	}
	for _, act := range content.Actions {
		if p := c.action(act); p != "" {
			return Card{}, p
		}
	}
	return c, ""
}

func oneDigit(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 9 && len(s) == 1
}

func (c *Card) walk(els []element) string {
	for _, e := range els {
		switch e.Type {
		case "TextBlock":
			if e.Text == nil || *e.Text == "" {
				return "a TextBlock has no text"
			}
			c.Texts = append(c.Texts, *e.Text)
		case "Container", "Column":
			if p := c.walk(e.Items); p != "" {
				return p
			}
		case "ColumnSet":
			if p := c.walk(e.Columns); p != "" {
				return p
			}
		case "FactSet":
			if len(e.Facts) == 0 {
				return "a FactSet has no facts"
			}
			for _, f := range e.Facts {
				if f.Title == "" && f.Value == "" {
					return "a fact is empty"
				}
			}
			c.Facts = append(c.Facts, e.Facts...)
		case "ActionSet":
			for _, a := range e.Actions {
				if p := c.action(a); p != "" {
					return p
				}
			}
		case "Image", "RichTextBlock", "Table":
		default:
			return fmt.Sprintf("unknown element type %q", e.Type)
		}
	}
	return ""
}

// action checks one action: webhooks have no bot to take Action.Submit.
func (c *Card) action(a element) string {
	switch a.Type {
	case "Action.OpenUrl":
		u, err := url.Parse(a.URL)
		if err != nil || !u.IsAbs() || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
			return fmt.Sprintf("action %q opens %q, not an absolute URL", a.Title, a.URL)
		}
	case "Action.ShowCard", "Action.ToggleVisibility", "Action.Execute":
	case "Action.Submit":
		return "Action.Submit needs a bot; cards posted to webhooks cannot use it"
	default:
		return fmt.Sprintf("unknown action type %q", a.Type)
	}
	if a.Title == "" {
		return "an action has no title"
	}
	switch a.Style {
	case "", "default", "positive", "destructive":
	default:
		return fmt.Sprintf("action style %q", a.Style)
	}
	c.Actions = append(c.Actions, Action{Type: a.Type, Title: a.Title, URL: a.URL, Style: a.Style})
	return ""
}
