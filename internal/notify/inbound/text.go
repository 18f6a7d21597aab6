package inbound

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify/action"
	"github.com/lastmile/lastmile/internal/store"
)

// Replies people send, after trimming and lower-casing. The code comes
// first or last ("3a", "3 ack", "ack 3"); without one, the reply applies
// to the newest open alert sent to the number, and "ack all" / "close all"
// (or GoAlert's "aa" / "cc") to all of them.
var (
	replyCodeFirst = regexp.MustCompile(`^(\d{1,4})\s*(a|ack|acknowledge|c|close|e|esc|escalate|aa|cc)$`)
	replyCodeLast  = regexp.MustCompile(`^(a|ack|acknowledge|c|close|e|esc|escalate)\s*#?\s*(\d{1,4})?$`)
	replyAll       = regexp.MustCompile(`^(aa|cc|(ack|acknowledge|close)\s+all)$`)
)

// Carrier keywords (CTIA): STOP and its synonyms end messages to the
// number, START and its synonyms bring them back.
var (
	stopWords  = map[string]bool{"stop": true, "stopall": true, "unsubscribe": true, "cancel": true, "end": true, "quit": true}
	startWords = map[string]bool{"start": true, "unstop": true, "yes": true}
	helpWords  = map[string]bool{"help": true, "info": true}
)

const helpText = "lastmile: reply <code>a to acknowledge, <code>c to close, <code>e to escalate (e.g. 1a); ack, close or esc for the newest alert; ack all or close all. STOP ends messages."

// TextReply handles an SMS from a number: STOP/START, HELP, or an answer
// to an alert. Numbers that are no member's get no answer, so a stranger
// learns nothing and an auto-responder loop cannot start.
func (s *Service) TextReply(ctx context.Context, channel, from, body string) (string, error) {
	text := strings.ToLower(strings.Join(strings.Fields(body), " "))
	text = strings.Trim(text, ".!'\"")
	known, err := s.knownNumber(ctx, channel, from)
	if err != nil {
		return "", err
	}
	if !known {
		return "", nil
	}
	switch {
	case stopWords[text]:
		return "", s.optOut(ctx, channel, from, true)
	case startWords[text]:
		if err := s.optOut(ctx, channel, from, false); err != nil {
			return "", err
		}
		return "lastmile: messages to this number are on again.", nil
	case helpWords[text]:
		return helpText, nil
	}
	var act string
	code := 0
	all := false
	if m := replyAll.FindStringSubmatch(text); m != nil {
		all = true
		act = verb(text)
	} else if m := replyCodeFirst.FindStringSubmatch(text); m != nil {
		code, _ = strconv.Atoi(m[1])
		if m[2] == "aa" || m[2] == "cc" {
			all, code = true, 0
		}
		act = verb(m[2])
	} else if m := replyCodeLast.FindStringSubmatch(text); m != nil {
		code, _ = strconv.Atoi(m[2])
		act = verb(m[1])
	} else {
		return "lastmile did not understand that. " + helpText, nil
	}
	ts, err := s.targets(ctx, from, code)
	if err != nil {
		return "", fmt.Errorf("read reply codes: %w", err)
	}
	if len(ts) == 0 {
		if code > 0 {
			return fmt.Sprintf("lastmile: no open alert has code %d for this number.", code), nil
		}
		return "lastmile: no open alert to answer.", nil
	}
	if !all {
		ts = ts[:1]
	}
	var done, failed []string
	for _, t := range ts {
		if all && act == action.Acknowledge && t.status != "new" {
			continue
		}
		res, err := s.perform(ctx, t.alertID, t.userID, act, "by SMS reply")
		if err != nil {
			if apperr.KindOf(err) == apperr.Internal {
				return "", err
			}
			failed = append(failed, plain(err))
			continue
		}
		done = append(done, res.Message)
	}
	switch {
	case len(done) == 1 && len(failed) == 0:
		return "lastmile: " + done[0], nil
	case len(done) > 1 || (all && len(failed) == 0):
		return fmt.Sprintf("lastmile: %s %d alerts.", past(act), len(done)), nil
	case len(failed) > 0:
		return "lastmile: " + strings.Join(failed, "; "), nil
	}
	return "lastmile: nothing to do.", nil
}

func verb(s string) string {
	switch {
	case strings.HasPrefix(s, "a"):
		return action.Acknowledge
	case strings.HasPrefix(s, "c"):
		return action.Close
	}
	return action.Escalate
}

func past(act string) string {
	switch act {
	case action.Acknowledge:
		return "acknowledged"
	case action.Close:
		return "closed"
	}
	return "escalated"
}

// plain returns an error's message for a person: the client-safe part of
// an apperr.
func plain(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Message
	}
	return "something went wrong"
}

func (s *Service) knownNumber(ctx context.Context, channel, from string) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM contact_methods WHERE channel IN ('sms', 'voice') AND address = ?`, from).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up number: %w", err)
	}
	return n > 0, nil
}

// optOut records STOP (or START) for every SMS contact method of the
// number: carriers block messages to it after STOP anyway, and sending
// into that block would only fail.
func (s *Service) optOut(ctx context.Context, channel, from string, out bool) error {
	var at any
	if out {
		at = store.Micros(s.clock.Now())
	}
	_, err := s.db.Exec(ctx, `UPDATE contact_methods SET opted_out_at = ? WHERE channel = ? AND address = ?`, at, channel, from)
	if err != nil {
		return fmt.Errorf("record opt-out: %w", err)
	}
	s.log.Info("sms opt-out changed", "opted_out", out)
	return nil
}
