package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lastmile/lastmile/internal/notify"
)

// maxAnswer bounds how much of a receiver's answer is read; answerShown how
// much of it an admin sees in the error.
const (
	maxAnswer   = 64 << 10
	answerShown = 200
)

// post sends j's body, signed, and sets j's outcome.
func (d *Deliverer) post(ctx context.Context, j *job) {
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	j.attempted = true
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, j.hook.URL, bytes.NewReader(j.body))
	if err != nil {
		// The error would quote the URL, which may hold a token.
		j.res, j.err, j.at = resFailed, "the webhook's URL cannot be used; save it again", d.clock.Now()
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderEventID, j.eventID)
	req.Header.Set(HeaderEventType, strconv.Itoa(j.eventType))
	req.Header.Set(HeaderSignature, Sign(j.hook.secret, j.body, d.clock.Now()))
	resp, err := d.client.Do(req)
	j.at = d.clock.Now()
	if err != nil {
		d.outcome(j, 0, "", reachError(err))
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	d.outcome(j, resp.StatusCode, resp.Header.Get("Retry-After"), describe(resp, answer))
}

// outcome classifies an attempt: 2xx is sent; a network error, 408, 429
// and 5xx are retried with backoff until maxAttempts; an address the guard
// refuses and any other answer fail at once.
func (d *Deliverer) outcome(j *job, status int, retryAfter string, err error) {
	switch {
	case err == nil:
		j.res, j.err = resSent, ""
		return
	case errors.Is(err, errBlocked):
		j.res = resFailed
	case status == 0, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		j.res = resRetry
	default:
		j.res = resFailed
	}
	j.err = err.Error()
	if j.res == resRetry && j.attempts >= maxAttempts {
		j.res, j.err = resFailed, fmt.Sprintf("gave up after %d attempts: %s", j.attempts, j.err)
	}
	if j.res == resRetry {
		wait := backoff(j.attempts)
		if s, perr := strconv.Atoi(strings.TrimSpace(retryAfter)); perr == nil && s > 0 {
			wait = min(max(wait, time.Duration(s)*time.Second), maxBackoff)
		}
		j.due = j.at.Add(wait)
		d.log.Debug("outbound webhook will retry", "webhook", j.webhookID, "event", j.eventID, "attempt", j.attempts, "err", j.err)
		return
	}
	d.log.Warn("outbound webhook delivery failed", "webhook", j.webhookID, "event", j.eventID, "attempt", j.attempts, "err", j.err)
}

// errBlocked says in plain words why the guard refused a target.
var errBlocked = errors.New("refused: the receiver's address is private, loopback or link-local; a server administrator can allow such targets with --allow-private-webhooks")

// reachError describes a failed request without the URL, which may carry
// a receiver's token in its query.
func reachError(err error) error {
	if errors.Is(err, notify.ErrBlockedAddress) {
		return errBlocked
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return errors.New("the receiver did not answer in time")
	}
	return fmt.Errorf("could not reach the receiver: %w", err)
}

// describe returns nil for a 2xx answer, or an error quoting the start of
// the answer, which is often the receiver's own explanation.
func describe(resp *http.Response, answer []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := "the receiver answered " + resp.Status
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg += " (redirects are not followed: use the final URL)"
	}
	if s := strings.TrimSpace(strings.ToValidUTF8(string(answer), "")); s != "" {
		if len(s) > answerShown {
			s = s[:answerShown]
			for !utf8.ValidString(s) {
				s = s[:len(s)-1]
			}
			s += "…"
		}
		msg += ": " + strconv.Quote(s)
	}
	return errors.New(msg)
}
