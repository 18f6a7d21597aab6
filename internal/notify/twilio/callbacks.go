package twilio

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify"
)

// callback returns the handler for /callbacks/twilio/<path>: "sms" (an
// inbound SMS), "voice" (a call asking what to say, or a keypress) and
// "status" (a delivery report for an SMS or a call).
func (c *client) callback(path string) http.Handler {
	var h http.HandlerFunc
	switch path {
	case "sms":
		h = c.smsReply
	case "voice":
		h = c.voiceAnswer
	case "status":
		h = c.status
	default:
		return nil
	}
	return c.signed(h)
}

// signed lets a request through only with a valid X-Twilio-Signature.
func (c *client) signed(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "Twilio callbacks are POST requests", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			if tooBig := new(http.MaxBytesError); errors.As(err, &tooBig) {
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "the body is not a form", http.StatusBadRequest)
			return
		}
		if !c.validSignature(r) {
			c.log.Warn("twilio callback refused: missing or wrong X-Twilio-Signature; is the base URL the public URL Twilio calls?",
				"path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "invalid Twilio signature", http.StatusForbidden)
			return
		}
		if c.d.Inbound == nil {
			http.Error(w, "callbacks are not ready", http.StatusServiceUnavailable)
			return
		}
		next(w, r)
	})
}

// smsReply passes an inbound SMS on and answers with the reply, if any.
// Twilio acts on STOP and START itself as well; they are passed on so that
// lastmile knows.
func (c *client) smsReply(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	answer, err := c.d.Inbound.TextReply(r.Context(), "sms", f.Get("From"), f.Get("Body"))
	if err != nil {
		c.log.Error("handle an SMS reply", "message_sid", f.Get("MessageSid"), "err", err)
		answer = plainError(err)
	}
	if answer == "" {
		writeTwiML(w)
		return
	}
	writeTwiML(w, smsMessage{Text: fitSMS(piece{text: answer})})
}

// voiceAnswer tells Twilio what an answered call says and does with a
// keypress. The alert's words come from the URL, which Twilio signs.
func (c *client) voiceAnswer(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, t := q.Get("n"), q.Get("t")
	sc, err := decodeScript(t)
	if err != nil {
		writeTwiML(w, c.say("Sorry, lastmile cannot read this call's alert. Goodbye."), hangup{})
		return
	}
	switch sc.Kind {
	case notify.KindVerify:
		code := spell(sc.Code)
		writeTwiML(w, c.say(fmt.Sprintf("Your lastmile verification code is %s. Again: %s. Goodbye.", code, code)), hangup{})
		return
	case notify.KindTest:
		text := "This is a test call from lastmile"
		if sc.Team != "" {
			text += ", team " + sc.Team
		}
		text += ". "
		if sc.Title != "" {
			text += strings.TrimRight(sc.Title, ". ") + ". "
		}
		writeTwiML(w, c.say(text+"No action is needed. Goodbye."), hangup{})
		return
	}
	if n == "" {
		// Keys act on the notification: without it there is nothing to offer.
		writeTwiML(w, c.say("Sorry, lastmile cannot read this call's alert. Goodbye."), hangup{})
		return
	}
	action := c.callbackURL("voice") + "?" + url.Values{"n": {n}, "t": {t}, "step": {"menu"}}.Encode()
	menu := func(prefix string) {
		writeTwiML(w,
			gather{Input: "dtmf", NumDigits: 1, Timeout: 10, Action: action, Method: http.MethodPost, Say: c.say(prefix + sc.intro() + sc.menu())},
			c.say("No key pressed. Goodbye."), hangup{})
	}
	digits, pressed := r.PostForm["Digits"]
	if !pressed || len(digits) == 0 {
		menu("")
		return
	}
	d := strings.TrimSpace(digits[0])
	if d == "*" {
		menu("")
		return
	}
	k, ok := keys[d]
	if !ok || !strings.Contains(sc.Actions, k.letter) {
		menu("Unknown key. ")
		return
	}
	res, err := c.d.Inbound.Respond(r.Context(), n, k.action, "by phone call")
	if err != nil {
		c.log.Warn("act on a keypress", "notification_id", n, "action", k.action, "err", err)
		writeTwiML(w, c.say(plainError(err)), hangup{})
		return
	}
	msg := strings.TrimSpace(res.Message)
	if msg == "" {
		msg = map[string]string{"acknowledge": "The alert is acknowledged.", "close": "The alert is closed.", "escalate": "The alert is escalated."}[k.action]
	}
	writeTwiML(w, c.say(msg), hangup{})
}

// status records a delivery report of an SMS or a call.
func (c *client) status(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	var channel, sid, status string
	switch {
	case f.Get("MessageSid") != "":
		channel, sid, status = "sms", f.Get("MessageSid"), f.Get("MessageStatus")
		if status == "" {
			status = f.Get("SmsStatus")
		}
	case f.Get("CallSid") != "":
		channel, sid, status = "voice", f.Get("CallSid"), f.Get("CallStatus")
	default:
		http.Error(w, "a status callback needs MessageSid or CallSid", http.StatusBadRequest)
		return
	}
	if err := c.d.Inbound.Delivery(r.Context(), channel, sid, status, errorDetail(f.Get("ErrorCode"))); err != nil {
		c.log.Error("record a Twilio delivery report", "channel", channel, "sid", sid, "status", status, "err", err)
		http.Error(w, "could not record the report", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// errorDetail says what a delivery error code means.
func errorDetail(code string) string {
	switch code = strings.TrimSpace(code); code {
	case "", "0":
		return ""
	case "30001":
		return "Twilio's queue for the sending number overflowed (30001)"
	case "30002":
		return "the Twilio account is suspended (30002)"
	case "30003":
		return "the phone is unreachable: switched off or out of coverage (30003)"
	case "30004":
		return "the recipient or their carrier blocked the message (30004)"
	case "30005":
		return "unknown destination: the number does not exist or is out of service (30005)"
	case "30006":
		return "the number is a landline or its carrier cannot take SMS (30006)"
	case "30007":
		return "the carrier filtered the message, for example as spam (30007)"
	case "30008":
		return "unknown error from the carrier (30008)"
	case "21610":
		return "the recipient replied STOP (21610)"
	}
	return "Twilio error " + code
}

// plainError is what a caller hears or reads when lastmile could not act:
// the message of an error meant for people, a generic sentence otherwise.
func plainError(err error) string {
	if e, ok := apperr.As(err); ok && e.Kind != apperr.Internal && strings.TrimSpace(e.Message) != "" {
		msg := strings.TrimSpace(e.Message)
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
		r, size := utf8.DecodeRuneInString(msg)
		return string(unicode.ToUpper(r)) + msg[size:]
	}
	return "Sorry, lastmile could not do that right now. Please try again in the app."
}
