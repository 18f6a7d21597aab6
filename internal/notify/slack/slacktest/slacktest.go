// Package slacktest is a fake Slack for tests: it receives incoming
// webhook posts, serves the Web API methods lastmile calls
// (chat.postMessage, chat.update, auth.test), takes response_url posts, and
// plays a member pressing a button by posting a signed block_actions
// payload to lastmile's interactivity callback. It checks what it receives
// the way Slack does (bot token, Block Kit limits) and records it exactly.
//
//	sl := slacktest.New(t, slacktest.Options{})
//	settings := `{"signingSecret":"…","botToken":"` + slacktest.DefaultBotToken + `","apiUrl":"` + sl.APIURL() + `"}`
//	address := sl.WebhookURL("oncall") // or "channel:C0123ABC"
//	… send …
//	m := sl.Messages()[0]
//	sl.Click(ctx, lastmileURL, secret, m, "lastmile_acknowledge", "ana")
//	sl.Responses() // what lastmile posted to the click's response_url
package slacktest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	"time"

	"github.com/lastmile/lastmile/internal/clock"
)

// DefaultBotToken is the bot token the fake accepts unless told another.
const DefaultBotToken = "xoxb-0000-slacktest"

// Options configure the fake.
type Options struct {
	// BotToken is the token the Web API accepts (DefaultBotToken if empty).
	BotToken string
	// Clock dates signed clicks (the real clock if nil): give it lastmile's
	// fake clock so the replay window check passes.
	Clock clock.Clock
}

// Message is one message the fake received.
type Message struct {
	// Via is how it came: "webhook", "chat.postMessage", "chat.update" or
	// "response_url".
	Via string
	// Path is the request path: which webhook or response_url.
	Path string
	// Channel and TS identify it in Slack. Webhook messages get channel
	// "CWEBHOOK" and a ts of their own, as Slack gives them one.
	Channel, TS string
	// Body is the JSON received, byte for byte (for form-encoded Web API
	// calls, the form's fields as a JSON object).
	Body json.RawMessage
	// Text, Blocks, ReplaceOriginal and ResponseType are read from Body.
	Text            string
	Blocks          []json.RawMessage
	ReplaceOriginal *bool
	ResponseType    string
}

// Button is a button of a message's actions blocks.
type Button struct {
	BlockID  string
	ActionID string
	Text     string
	Value    string
	URL      string
	Style    string
	Confirm  bool
}

// Buttons lists the message's buttons in order.
func (m Message) Buttons() []Button {
	var out []Button
	for i, raw := range m.Blocks {
		var b struct {
			Type     string `json:"type"`
			BlockID  string `json:"block_id"`
			Elements []struct {
				Type     string                `json:"type"`
				ActionID string                `json:"action_id"`
				Text     struct{ Text string } `json:"text"`
				Value    string                `json:"value"`
				URL      string                `json:"url"`
				Style    string                `json:"style"`
				Confirm  json.RawMessage       `json:"confirm"`
			} `json:"elements"`
		}
		if json.Unmarshal(raw, &b) != nil || b.Type != "actions" {
			continue
		}
		if b.BlockID == "" {
			b.BlockID = defaultBlockID(i)
		}
		for _, e := range b.Elements {
			if e.Type != "button" {
				continue
			}
			out = append(out, Button{BlockID: b.BlockID, ActionID: e.ActionID, Text: e.Text.Text, Value: e.Value, URL: e.URL, Style: e.Style, Confirm: len(e.Confirm) > 0})
		}
	}
	return out
}

// Button returns the button with actionID.
func (m Message) Button(actionID string) (Button, bool) {
	for _, b := range m.Buttons() {
		if b.ActionID == actionID {
			return b, true
		}
	}
	return Button{}, false
}

// Call is one Web API request.
type Call struct {
	Method string
	// Authorized says whether it carried the bot token the fake accepts.
	Authorized bool
	// Error is the error code answered, "" for ok.
	Error string
}

type failure struct {
	status int
	body   string
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the fake's base URL.
	URL string

	token string
	clock clock.Clock
	srv   *httptest.Server

	mu        sync.Mutex
	messages  []Message // webhook posts and chat.postMessage, then edited by chat.update
	updates   []Message
	responses []Message
	calls     []Call
	fails     []failure
	seq       int
}

// New starts a fake Slack on 127.0.0.1, stopped when the test ends.
func New(t testing.TB, o Options) *Server {
	s := &Server{token: o.BotToken, clock: o.Clock}
	if s.token == "" {
		s.token = DefaultBotToken
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/", s.webhook)
	mux.HandleFunc("POST /api/{method}", s.api)
	mux.HandleFunc("POST /actions/", s.responseURL)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the fake (New also arranges that when the test ends).
func (s *Server) Close() { s.srv.Close() }

// Client is an HTTP client that reaches the fake.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// APIURL is the value for lastmile's apiUrl setting.
func (s *Server) APIURL() string { return s.URL + "/api" }

// WebhookURL is an incoming webhook URL of the fake, one per name.
func (s *Server) WebhookURL(name string) string {
	return s.URL + "/services/T0000/B0000/" + url.PathEscape(name)
}

// FailNext makes the next request the fake receives (webhook, Web API or
// response_url) answer status with body: (404, "no_service") for a
// webhook, (200, `{"ok":false,"error":"not_in_channel"}`) for the Web API.
// Calls queue up.
func (s *Server) FailNext(status int, body string) {
	s.mu.Lock()
	s.fails = append(s.fails, failure{status, body})
	s.mu.Unlock()
}

// Messages returns the messages posted to webhooks and with
// chat.postMessage, in order, as chat.update left them.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Updates returns the chat.update calls, in order.
func (s *Server) Updates() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.updates...)
}

// Responses returns what was posted to response_urls, in order.
func (s *Server) Responses() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.responses...)
}

// Calls returns the Web API calls, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// takeFailure pops a queued failure; the caller holds no lock.
func (s *Server) takeFailure(w http.ResponseWriter) bool {
	s.mu.Lock()
	if len(s.fails) == 0 {
		s.mu.Unlock()
		return false
	}
	f := s.fails[0]
	s.fails = s.fails[1:]
	s.mu.Unlock()
	if strings.HasPrefix(strings.TrimSpace(f.body), "{") {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(f.status)
	io.WriteString(w, f.body)
	return true
}

func (s *Server) nextTS() string {
	s.seq++
	return fmt.Sprintf("1700000000.%06d", s.seq*100)
}

// readJSON reads a JSON body as Slack does for webhooks and response_urls.
func readJSON(r *http.Request) (json.RawMessage, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, errors.New("invalid_payload")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || !json.Valid(body) {
		return nil, errors.New("invalid_payload")
	}
	return body, nil
}

func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	if s.takeFailure(w) {
		return
	}
	body, err := readJSON(r)
	var m Message
	if err == nil {
		m, err = parseMessage("webhook", r.URL.Path, body)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	m.Channel, m.TS = "CWEBHOOK", s.nextTS()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	io.WriteString(w, "ok")
}

func (s *Server) responseURL(w http.ResponseWriter, r *http.Request) {
	if s.takeFailure(w) {
		return
	}
	body, err := readJSON(r)
	var m Message
	if err == nil {
		m, err = parseMessage("response_url", r.URL.Path, body)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.responses = append(s.responses, m)
	s.mu.Unlock()
	io.WriteString(w, "ok")
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	if s.takeFailure(w) {
		s.record(Call{Method: method, Error: "failed on demand"})
		return
	}
	body, form, err := readAPI(r)
	if err != nil {
		s.answer(w, Call{Method: method}, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = form["token"]
	}
	call := Call{Method: method, Authorized: token != "" && hmac.Equal([]byte(token), []byte(s.token))}
	switch {
	case token == "":
		s.answer(w, call, map[string]any{"ok": false, "error": "not_authed"})
		return
	case !call.Authorized:
		s.answer(w, call, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch method {
	case "auth.test":
		s.answer(w, call, map[string]any{"ok": true, "url": "https://lastmile-test.slack.com/", "team": "lastmile test",
			"user": "lastmile", "team_id": "T0000", "user_id": "U0000", "bot_id": "B0000"})
	case "chat.postMessage", "chat.update":
		s.chat(w, call, body, form)
	default:
		s.answer(w, call, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (s *Server) chat(w http.ResponseWriter, call Call, body json.RawMessage, form map[string]string) {
	m, err := parseMessage(call.Method, "/api/"+call.Method, body)
	if err != nil {
		s.answer(w, call, map[string]any{"ok": false, "error": err.Error()})
		return
	}
	m.Channel, m.TS = form["channel"], form["ts"]
	if m.Channel == "" {
		s.answer(w, call, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	s.mu.Lock()
	if call.Method == "chat.postMessage" {
		m.TS = s.nextTS()
		s.messages = append(s.messages, m)
		s.mu.Unlock()
		s.answer(w, call, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS})
		return
	}
	i := -1
	for j, old := range s.messages {
		if old.Channel == m.Channel && old.TS == m.TS && old.Via == "chat.postMessage" {
			i = j
		}
	}
	if i < 0 {
		s.mu.Unlock()
		s.answer(w, call, map[string]any{"ok": false, "error": "message_not_found"})
		return
	}
	s.updates = append(s.updates, m)
	edited := m
	edited.Via, edited.Path = s.messages[i].Via, s.messages[i].Path
	s.messages[i] = edited
	s.mu.Unlock()
	s.answer(w, call, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS})
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

// answer writes a Web API answer: always HTTP 200, as Slack does.
func (s *Server) answer(w http.ResponseWriter, c Call, v map[string]any) {
	if ok, _ := v["ok"].(bool); !ok {
		c.Error, _ = v["error"].(string)
	}
	s.record(c)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

// readAPI reads a Web API body, JSON or form-encoded, returning it as JSON
// and its top-level string fields.
func readAPI(r *http.Request) (json.RawMessage, map[string]string, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	fields := map[string]string{}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, nil, err
		}
		for k, v := range obj {
			if s, ok := v.(string); ok {
				fields[k] = s
			}
		}
		return raw, fields, nil
	case "application/x-www-form-urlencoded", "":
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, nil, err
		}
		obj := map[string]any{}
		for k := range form {
			fields[k] = form.Get(k)
			obj[k] = form.Get(k)
		}
		// Slack takes blocks in a form as a JSON string.
		if b := form.Get("blocks"); b != "" {
			if !json.Valid([]byte(b)) {
				return nil, nil, errors.New("invalid blocks")
			}
			obj["blocks"] = json.RawMessage(b)
		}
		delete(obj, "token")
		out, _ := json.Marshal(obj)
		return out, fields, nil
	}
	return nil, nil, errors.New("unsupported content type")
}

// parseMessage reads and checks a message as Slack would: it needs text or
// blocks, and its blocks must keep Block Kit's rules. Its errors are
// Slack's error codes.
func parseMessage(via, path string, body json.RawMessage) (Message, error) {
	var v struct {
		Text            string            `json:"text"`
		Blocks          []json.RawMessage `json:"blocks"`
		ReplaceOriginal *bool             `json:"replace_original"`
		ResponseType    string            `json:"response_type"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return Message{}, errors.New("invalid_payload")
	}
	if strings.TrimSpace(v.Text) == "" && len(v.Blocks) == 0 {
		return Message{}, errors.New("no_text")
	}
	if err := checkBlocks(v.Blocks); err != nil {
		return Message{}, err
	}
	return Message{Via: via, Path: path, Body: body, Text: v.Text, Blocks: v.Blocks, ReplaceOriginal: v.ReplaceOriginal, ResponseType: v.ResponseType}, nil
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func (t *textObject) check(plainOnly bool, max int) bool {
	if t == nil || t.Text == "" || len([]rune(t.Text)) > max {
		return false
	}
	return t.Type == "plain_text" || !plainOnly && t.Type == "mrkdwn"
}

// checkBlocks applies the Block Kit limits lastmile can run into.
func checkBlocks(blocks []json.RawMessage) error {
	bad := errors.New("invalid_blocks")
	if len(blocks) > 50 {
		return bad
	}
	ids := map[string]bool{}
	for _, raw := range blocks {
		var b struct {
			Type     string            `json:"type"`
			BlockID  string            `json:"block_id"`
			Text     *textObject       `json:"text"`
			Elements []json.RawMessage `json:"elements"`
		}
		if json.Unmarshal(raw, &b) != nil {
			return bad
		}
		if b.BlockID != "" {
			if len(b.BlockID) > 255 || ids[b.BlockID] {
				return bad
			}
			ids[b.BlockID] = true
		}
		switch b.Type {
		case "header":
			if !b.Text.check(true, 150) {
				return bad
			}
		case "section":
			if !b.Text.check(false, 3000) {
				return bad
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > 10 {
				return bad
			}
			for _, e := range b.Elements {
				var t textObject
				if json.Unmarshal(e, &t) != nil || !t.check(false, 3000) {
					return bad
				}
			}
		case "actions":
			if len(b.Elements) == 0 || len(b.Elements) > 25 {
				return bad
			}
			actionIDs := map[string]bool{}
			for _, e := range b.Elements {
				var btn struct {
					Type     string      `json:"type"`
					ActionID string      `json:"action_id"`
					Text     *textObject `json:"text"`
					Value    string      `json:"value"`
					URL      string      `json:"url"`
					Style    string      `json:"style"`
				}
				if json.Unmarshal(e, &btn) != nil || btn.Type != "button" || !btn.Text.check(true, 75) ||
					len(btn.ActionID) > 255 || actionIDs[btn.ActionID] || len(btn.Value) > 2000 || len(btn.URL) > 3000 ||
					btn.Style != "" && btn.Style != "primary" && btn.Style != "danger" {
					return bad
				}
				if btn.ActionID != "" {
					actionIDs[btn.ActionID] = true
				}
				if btn.URL != "" {
					if u, err := url.Parse(btn.URL); err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http" {
						return bad
					}
				}
			}
		case "divider", "image", "rich_text", "markdown":
		default:
			return bad
		}
	}
	return nil
}

func defaultBlockID(i int) string { return "blk" + strconv.Itoa(i) }

// Sign returns Slack's signature of body sent at timestamp ts:
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)).
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:", ts)
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// Click describes a button press in detail; ClickWith sends it.
type Click struct {
	// BaseURL is lastmile's base URL; the request goes to
	// BaseURL + Path (default "/callbacks/slack/interactive").
	BaseURL, Path string
	// SigningSecret signs the request; a wrong one makes a forged click.
	SigningSecret string
	// Message and ActionID name the pressed button.
	Message  Message
	ActionID string
	// Username is the member pressing it.
	Username string
	// At dates the request (the fake's clock if zero): an old time makes a
	// replayed click.
	At time.Time
	// ResponseURL replaces the fake's own response_url.
	ResponseURL string
	// Tamper, if set, changes the body after it was signed.
	Tamper func([]byte) []byte
}

// ClickResult is lastmile's answer to a click.
type ClickResult struct {
	Status      int
	Body        string
	ResponseURL string
}

// Click presses the button actionID of message m as username, signed with
// signingSecret, and returns lastmile's answer. What lastmile posts back
// to the click's response_url shows in Responses.
func (s *Server) Click(ctx context.Context, lastmileBaseURL, signingSecret string, m Message, actionID, username string) (ClickResult, error) {
	return s.ClickWith(ctx, Click{BaseURL: lastmileBaseURL, SigningSecret: signingSecret, Message: m, ActionID: actionID, Username: username})
}

// ClickWith sends the block_actions request c describes.
func (s *Server) ClickWith(ctx context.Context, c Click) (ClickResult, error) {
	btn, ok := c.Message.Button(c.ActionID)
	if !ok {
		return ClickResult{}, fmt.Errorf("slacktest: the message has no button %q", c.ActionID)
	}
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.mu.Unlock()
	if c.ResponseURL == "" {
		c.ResponseURL = fmt.Sprintf("%s/actions/T0000/%d/resp%d", s.URL, n, n)
	}
	if c.Path == "" {
		c.Path = "/callbacks/slack/interactive"
	}
	at := c.At
	if at.IsZero() {
		at = s.clock.Now()
	}
	// Slack shows the message as it stored it: every block with an id.
	blocks := make([]json.RawMessage, len(c.Message.Blocks))
	for i, raw := range c.Message.Blocks {
		var b map[string]any
		if json.Unmarshal(raw, &b) == nil {
			if _, ok := b["block_id"]; !ok {
				b["block_id"] = defaultBlockID(i)
			}
			raw, _ = json.Marshal(b)
		}
		blocks[i] = raw
	}
	userID := "U" + strings.ToUpper(hex.EncodeToString([]byte(c.Username)))
	payload := map[string]any{
		"type":         "block_actions",
		"api_app_id":   "A0000",
		"token":        "deprecated-verification-token",
		"trigger_id":   fmt.Sprintf("%d.0000.slacktest", n),
		"team":         map[string]any{"id": "T0000", "domain": "lastmile-test"},
		"user":         map[string]any{"id": userID, "username": c.Username, "name": c.Username, "team_id": "T0000"},
		"container":    map[string]any{"type": "message", "message_ts": c.Message.TS, "channel_id": c.Message.Channel, "is_ephemeral": false},
		"channel":      map[string]any{"id": c.Message.Channel, "name": "oncall"},
		"message":      map[string]any{"type": "message", "ts": c.Message.TS, "text": c.Message.Text, "blocks": blocks},
		"response_url": c.ResponseURL,
		"actions": []map[string]any{{
			"type": "button", "action_id": btn.ActionID, "block_id": btn.BlockID, "value": btn.Value,
			"text":      map[string]any{"type": "plain_text", "text": btn.Text, "emoji": true},
			"action_ts": fmt.Sprintf("%d.%06d", at.Unix(), n),
		}},
		"state": map[string]any{"values": map[string]any{}},
	}
	if btn.Value == "" {
		delete(payload["actions"].([]map[string]any)[0], "value")
	}
	js, err := json.Marshal(payload)
	if err != nil {
		return ClickResult{}, err
	}
	body := []byte(url.Values{"payload": {string(js)}}.Encode())
	ts := strconv.FormatInt(at.Unix(), 10)
	sig := Sign(c.SigningSecret, ts, body)
	if c.Tamper != nil {
		body = c.Tamper(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+c.Path, bytes.NewReader(body))
	if err != nil {
		return ClickResult{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ClickResult{}, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return ClickResult{Status: resp.StatusCode, Body: string(answer), ResponseURL: c.ResponseURL}, nil
}
