package twiliotest

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Sign returns the X-Twilio-Signature Twilio sends with a form POST of
// params to url: base64 of HMAC-SHA1 under authToken of the URL followed by
// each parameter's name and value, sorted by name.
func Sign(authToken, url string, params url.Values) string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(url)
	for _, k := range names {
		vals := append([]string(nil), params[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Reply sends an inbound SMS from a member's phone (from) to the account's
// number (to), as Twilio does: a signed POST to
// {lastmileBaseURL}/callbacks/twilio/sms. It returns lastmile's TwiML
// answer (TwiMLText reads the reply out of it). Like Twilio, the fake opts
// from out on STOP (and the like) and back in on START, before passing the
// message on.
func (s *Server) Reply(ctx context.Context, lastmileBaseURL, from, to, body string) (string, error) {
	switch strings.ToUpper(strings.TrimSpace(body)) {
	case "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT":
		s.OptOut(from)
	case "START", "YES", "UNSTOP":
		s.OptIn(from)
	}
	s.mu.Lock()
	sid := s.nextSID("SM")
	s.mu.Unlock()
	params := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {s.AccountSID},
		"From": {from}, "To": {to}, "Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"},
		"SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
	}
	return s.send(ctx, http.MethodPost, strings.TrimRight(lastmileBaseURL, "/")+"/callbacks/twilio/sms", params)
}

// Answer has the member pick up call callSid: the fake fetches the call's
// Url (with its Method, signed, CallStatus in-progress) and returns the
// TwiML. A <Gather> in it is remembered for Press.
func (s *Server) Answer(ctx context.Context, callSid string) (string, error) {
	c, ok := s.call(callSid)
	if !ok {
		return "", fmt.Errorf("twiliotest: no call %s", callSid)
	}
	body, err := s.send(ctx, c.Method, c.URL, s.callParams(c, "in-progress"))
	s.remember(callSid, c.URL, body)
	return body, err
}

// Press has the member type digits during call callSid: the fake posts them
// (signed) to the action of the last <Gather> the call got, and returns
// the TwiML answer, whose <Gather>, if any, is remembered in turn.
func (s *Server) Press(ctx context.Context, callSid, digits string) (string, error) {
	c, ok := s.call(callSid)
	if !ok {
		return "", fmt.Errorf("twiliotest: no call %s", callSid)
	}
	s.mu.Lock()
	g := s.gathers[callSid]
	s.mu.Unlock()
	if g.action == "" {
		return "", fmt.Errorf("twiliotest: call %s is not waiting for digits: its last TwiML had no <Gather>", callSid)
	}
	params := s.callParams(c, "in-progress")
	params.Set("Digits", digits)
	params.Set("FinishedOnKey", "")
	body, err := s.send(ctx, g.method, g.action, params)
	s.remember(callSid, g.action, body)
	return body, err
}

// GatherURL returns the action of the last <Gather> call callSid got, ""
// if none.
func (s *Server) GatherURL(callSid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gathers[callSid].action
}

// Status sends a status callback for the message or call sid (SM… or
// CA…) to the StatusCallback it was created with, signed. errorCode is ""
// for none. A call reports only the events it asked for in
// StatusCallbackEvent, as with Twilio.
func (s *Server) Status(ctx context.Context, sid, status, errorCode string) error {
	var target, method string
	var params url.Values
	if m, ok := s.message(sid); ok {
		target, method = m.StatusCallback, http.MethodPost
		params = url.Values{
			"MessageSid": {m.SID}, "SmsSid": {m.SID}, "MessageStatus": {status}, "SmsStatus": {status},
			"AccountSid": {s.AccountSID}, "To": {m.To}, "ApiVersion": {"2010-04-01"},
		}
		if m.From != "" {
			params.Set("From", m.From)
		}
		if m.MessagingServiceSID != "" {
			params.Set("MessagingServiceSid", m.MessagingServiceSID)
		}
	} else if c, ok := s.call(sid); ok {
		event := map[string]string{"queued": "initiated", "initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}[status]
		if event == "" {
			event = "completed" // completed, busy, no-answer, failed, canceled
		}
		subscribed := false
		for _, e := range c.StatusCallbackEvents {
			subscribed = subscribed || e == event
		}
		if !subscribed {
			return fmt.Errorf("twiliotest: call %s did not ask for %q events (StatusCallbackEvent %v)", sid, event, c.StatusCallbackEvents)
		}
		target, method = c.StatusCallback, c.StatusCallbackMethod
		params = s.callParams(c, status)
		params.Set("CallbackSource", "call-progress-events")
		if event == "completed" {
			params.Set("CallDuration", "0")
		}
	} else {
		return fmt.Errorf("twiliotest: no message or call %s", sid)
	}
	if target == "" {
		return fmt.Errorf("twiliotest: %s was created without a StatusCallback", sid)
	}
	if method == "" {
		method = http.MethodPost
	}
	if errorCode != "" {
		params.Set("ErrorCode", errorCode)
	}
	_, err := s.send(ctx, method, target, params)
	return err
}

func (s *Server) message(sid string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.SID == sid {
			return m, true
		}
	}
	return Message{}, false
}

func (s *Server) call(sid string) (Call, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c.SID == sid {
			return c, true
		}
	}
	return Call{}, false
}

// callParams are the parameters of every voice request of an outbound
// call: From is the account's number, To the member's.
func (s *Server) callParams(c Call, status string) url.Values {
	return url.Values{
		"CallSid": {c.SID}, "AccountSid": {s.AccountSID}, "From": {c.From}, "To": {c.To},
		"Caller": {c.From}, "Called": {c.To}, "CallStatus": {status}, "Direction": {"outbound-api"},
		"ApiVersion": {"2010-04-01"},
	}
}

// remember keeps the <Gather> of a TwiML answer, resolving a relative or
// empty action against the document's URL, as Twilio does.
func (s *Server) remember(callSid, docURL, body string) {
	var g gatherState
	if doc, err := ParseTwiML(body); err == nil && doc.Gather != nil {
		g.method = doc.Gather.Method
		if g.method == "" {
			g.method = http.MethodPost
		}
		g.action = docURL
		if base, err := url.Parse(docURL); err == nil {
			if ref, err := url.Parse(doc.Gather.Action); err == nil {
				g.action = base.ResolveReference(ref).String()
			}
		}
	}
	s.mu.Lock()
	s.gathers[callSid] = g
	s.mu.Unlock()
}

type gatherState struct{ action, method string }

// send makes a signed request to lastmile, as Twilio does: the signature
// covers the URL exactly as called and, for POST, the form parameters;
// for GET the parameters go in the query and only the URL is signed.
func (s *Server) send(ctx context.Context, method, target string, params url.Values) (string, error) {
	var body io.Reader
	if method == http.MethodGet {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + params.Encode()
		params = nil
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return "", fmt.Errorf("twiliotest: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Sign(s.AuthToken, target, params))
	resp, err := s.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("twiliotest: %s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("twiliotest: read lastmile's answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return string(b), &CallbackError{Status: resp.StatusCode, Body: string(b)}
	}
	return string(b), nil
}

// CallbackError is lastmile answering a callback with a non-2xx status.
type CallbackError struct {
	Status int
	Body   string
}

func (e *CallbackError) Error() string {
	return fmt.Sprintf("twiliotest: lastmile answered %d: %s", e.Status, strings.TrimSpace(e.Body))
}

// StatusOf returns the HTTP status of a CallbackError in err, or 0.
func StatusOf(err error) int {
	var ce *CallbackError
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}
