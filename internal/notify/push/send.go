package push

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/lastmile/lastmile/internal/notify"
)

// Send encrypts the notification for the subscription in m.Address and
// posts it to the subscription's push service. The provider id is the
// message URI the push service answers with (Location), if any.
func (c *Channel) Send(ctx context.Context, m notify.Message) (string, error) {
	sub, err := parseSubscription(m.Address)
	if err != nil {
		return "", notify.Permanent(err)
	}
	key, err := c.vapid(ctx)
	if err != nil {
		return "", err
	}
	plain, err := marshal(render(m), maxPlaintext)
	if err != nil {
		return "", notify.Permanent(fmt.Errorf("push: %w", err))
	}
	body, err := seal(plain, sub.uaPublic, sub.auth)
	if err != nil {
		return "", notify.Permanent(fmt.Errorf("push: encrypt: %w", err))
	}
	authz, err := key.authorization(origin(sub.endpoint), c.subject, c.deps.Clock.Now())
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return "", notify.Permanent(fmt.Errorf("push: %w", err))
	}
	req.Header.Set("Authorization", authz)
	req.Header.Set("TTL", strconv.Itoa(c.ttl))
	req.Header.Set("Urgency", c.urgencyFor(m))
	if t := topic(m); t != "" {
		req.Header.Set("Topic", t)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("User-Agent", "lastmile-push")

	host := sub.endpoint.Host
	resp, err := c.deps.Guarded.Do(req)
	if err != nil {
		return "", transportError(host, err)
	}
	defer resp.Body.Close()
	detail := readDetail(resp.Body)
	if err := answer(host, resp, detail); err != nil {
		return "", err
	}
	c.deps.Log.Debug("push sent", "notification_id", m.NotificationID, "push_service", host, "status", resp.StatusCode, "bytes", len(body))
	return resp.Header.Get("Location"), nil
}

// answer turns a push service's answer into a send error (nil when it took
// the message), in words an administrator can act on.
func answer(host string, resp *http.Response, detail string) error {
	code := resp.StatusCode
	if detail != "" {
		detail = ": " + detail
	}
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusNotFound || code == http.StatusGone:
		return notify.Gone(fmt.Errorf("the push subscription no longer exists (the push service at %s answered %d): the browser unsubscribed or the subscription expired", host, code))
	case code == http.StatusRequestEntityTooLarge:
		return notify.Permanent(fmt.Errorf("the push service at %s refused the message as too large (413)", host))
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return notify.Permanent(fmt.Errorf("the push service at %s refused the VAPID signature (%d)%s; if the server's VAPID key changed since the browser subscribed, subscribe again", host, code, detail))
	case code == http.StatusBadRequest:
		return notify.Permanent(fmt.Errorf("the push service at %s refused the request as malformed (400)%s", host, detail))
	case code == http.StatusTooManyRequests:
		wait := ""
		if ra := resp.Header.Get("Retry-After"); ra != "" && len(ra) <= 40 {
			wait = " (retry after " + ra + ")"
		}
		return fmt.Errorf("the push service at %s is rate-limiting this server (429)%s", host, wait)
	case code == http.StatusRequestTimeout || code >= 500:
		return fmt.Errorf("the push service at %s failed (%s)", host, resp.Status)
	default:
		return notify.Permanent(fmt.Errorf("the push service at %s answered %s%s", host, resp.Status, detail))
	}
}

// transportError reports a failed request without the endpoint URL, whose
// path is the subscription's capability.
func transportError(host string, err error) error {
	if errors.Is(err, notify.ErrBlockedAddress) {
		return notify.Permanent(fmt.Errorf("the push endpoint %s is not allowed: %w", host, notify.ErrBlockedAddress))
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return fmt.Errorf("could not reach the push service at %s: %w", host, err)
}

// readDetail reads the start of a push service's answer for error
// messages: a short line of printable text, the rest drained so the
// connection can be reused.
func readDetail(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	io.Copy(io.Discard, io.LimitReader(r, 64<<10))
	s := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, string(b))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = cut(s, 200)
	}
	return s
}
