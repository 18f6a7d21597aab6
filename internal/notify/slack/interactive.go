package slack

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
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify"
)

const (
	maxCallbackBody = 64 << 10
	// maxClockSkew is Slack's replay window: a signed request older (or
	// newer) than this is refused even if its signature is right.
	maxClockSkew = 5 * time.Minute
	// Slack wants its answer within 3 s, and the response_url post
	// happens before it.
	responseTimeout = 2 * time.Second
)

// Errors of signature checks; the handler logs them, Slack only sees 401.
var (
	errUnsigned  = errors.New("the request carries no Slack signature")
	errStale     = errors.New("the request's timestamp is more than 5 minutes away from this server's clock")
	errSignature = errors.New("the Slack signature does not match: is signingSecret the app's current Signing Secret?")
)

// interaction holds the fields of a block_actions payload lastmile reads.
type interaction struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
	} `json:"user"`
	ResponseURL string `json:"response_url"`
	Message     *struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	} `json:"message"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"actions"`
}

// sign computes Slack's request signature: "v0=" + hex(HMAC-SHA256(secret,
// "v0:" + timestamp + ":" + body)).
func sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// verify checks that body and its headers were signed by Slack with
// secret within the replay window around now.
func verify(secret string, now time.Time, h http.Header, body []byte) error {
	ts, sig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
	if ts == "" || sig == "" {
		return errUnsigned
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errStale
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxClockSkew || d < -maxClockSkew {
		return errStale
	}
	if !hmac.Equal([]byte(sign(secret, ts, body)), []byte(sig)) {
		return errSignature
	}
	return nil
}

// interactive takes Slack's block_actions requests: a member pressed a
// button. Nothing is done unless Slack's signature checks out.
func (c *Channel) interactive(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallbackBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read the request", http.StatusBadRequest)
		return
	}
	if c.s.SigningSecret == "" {
		c.log.Warn("slack: a button click arrived but no signing secret is configured, so it cannot be checked")
		http.Error(w, "signing secret not configured", http.StatusUnauthorized)
		return
	}
	if err := verify(c.s.SigningSecret, c.clock.Now(), r.Header, body); err != nil {
		c.log.Warn("slack: refused a callback", "err", err, "remote", r.RemoteAddr)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	var p interaction
	if err == nil {
		err = json.Unmarshal([]byte(form.Get("payload")), &p)
	}
	if err != nil {
		http.Error(w, "payload is not a Slack interaction", http.StatusBadRequest)
		return
	}
	if p.Type == "block_actions" && c.inbound != nil {
		c.act(r.Context(), p)
	}
	w.WriteHeader(http.StatusOK)
}

// act redeems the tokens of the pressed buttons and shows the outcome on
// the message through response_url.
func (c *Channel) act(ctx context.Context, p interaction) {
	who := "@" + titleOr(p.User.Username, titleOr(p.User.Name, p.User.ID))
	now := c.clock.Now()
	var lines []string
	used := map[string]bool{}
	closed := false
	for _, a := range p.Actions {
		name, ok := strings.CutPrefix(a.ActionID, actionPrefix)
		if !ok || a.Value == "" {
			continue // link buttons: Slack reports their clicks too
		}
		if _, err := c.inbound.Redeem(ctx, a.Value, "via Slack by "+who); err != nil {
			c.log.Info("slack: button refused", "action", name, "user", who, "err", err)
			f := false
			c.respond(ctx, p.ResponseURL, message{ResponseType: "ephemeral", ReplaceOriginal: &f,
				Text: "Could not " + name + ": " + escape(publicError(err))})
			return
		}
		c.log.Info("slack: button pressed", "action", name, "user", who)
		lines = append(lines, escape(statusLine(name, who, now)))
		used[a.ActionID] = true
		closed = closed || name == "close"
	}
	if len(lines) == 0 {
		return
	}
	c.respond(ctx, p.ResponseURL, replacement(p, strings.Join(lines, "\n"), used, closed, now))
}

// publicError is what a Slack user may read about a refused action.
func publicError(err error) string {
	if e, ok := apperr.As(err); ok && e.Kind != apperr.Internal {
		if e.Details != "" {
			return truncate(e.Message+": "+e.Details, 200)
		}
		return truncate(e.Message, 200)
	}
	return "lastmile could not do this just now; try again in a moment"
}

// replacement is the clicked message with a status line where its buttons
// were. Buttons whose token was spent go; after a close only links stay.
func replacement(p interaction, status string, used map[string]bool, closed bool, now time.Time) message {
	t := true
	out := message{ReplaceOriginal: &t}
	statusBlock := contextBlock(statusBlockPrefix+"_"+now.UTC().Format("20060102T150405"), status)
	if p.Message == nil {
		out.Text = status
		out.Blocks = []any{statusBlock}
		return out
	}
	out.Text = p.Message.Text
	placed := false
	for _, raw := range p.Message.Blocks {
		var b struct {
			Type     string            `json:"type"`
			BlockID  string            `json:"block_id"`
			Elements []json.RawMessage `json:"elements"`
		}
		if json.Unmarshal(raw, &b) != nil {
			continue
		}
		switch {
		case strings.HasPrefix(b.BlockID, statusBlockPrefix):
			continue // an earlier status line: the new one replaces it
		case b.Type == "actions" && !placed:
			out.Blocks = append(out.Blocks, statusBlock)
			placed = true
			var keep []any
			for _, el := range b.Elements {
				var e struct {
					ActionID string `json:"action_id"`
					URL      string `json:"url"`
				}
				if json.Unmarshal(el, &e) != nil || used[e.ActionID] || closed && e.URL == "" {
					continue
				}
				keep = append(keep, el)
			}
			if len(keep) > 0 {
				// A new block_id: Slack asks for one on every version of a
				// message.
				out.Blocks = append(out.Blocks, block{Type: "actions", BlockID: "lastmile_actions_" + now.UTC().Format("20060102T150405"), Elements: keep})
			}
			continue
		}
		out.Blocks = append(out.Blocks, raw)
	}
	if !placed {
		out.Blocks = append(out.Blocks, statusBlock)
	}
	return out
}

// respond posts msg to a click's response_url. The URL comes from a signed
// payload, but a leaked signing secret must not turn lastmile into a proxy
// to internal addresses, so only Slack's hosts are accepted: hooks.slack.com
// over https, and the host of the configured apiUrl.
func (c *Channel) respond(ctx context.Context, responseURL string, msg message) {
	if !c.allowedResponseURL(responseURL) {
		c.log.Warn("slack: refused a response_url outside Slack", "host", hostOf(responseURL))
		return
	}
	body, err := json.Marshal(msg)
	if err != nil {
		c.log.Error("slack: encode response", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, responseTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := c.api.Do(req)
	if err != nil {
		c.log.Warn("slack: post to response_url", "err", notify.TransportError("post to response_url", err))
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode/100 != 2 {
		c.log.Warn("slack: response_url refused the update", "status", resp.StatusCode, "answer", fmt.Sprintf("%.64q", raw))
	}
}

func (c *Channel) allowedResponseURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.User != nil {
		return false
	}
	if u.Scheme == "https" && u.Host == "hooks.slack.com" {
		return true
	}
	api, err := url.Parse(c.s.APIURL)
	return err == nil && u.Scheme == api.Scheme && strings.EqualFold(u.Host, api.Host)
}

func hostOf(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Host
	}
	return ""
}
