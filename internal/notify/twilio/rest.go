package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/lastmile/lastmile/internal/notify"
)

// apiError is the body of Twilio's non-2xx answers.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func (c *client) accountURL(suffix string) string {
	return c.s.APIURL + "/2010-04-01/Accounts/" + c.s.AccountSID + suffix
}

// do sends one request to Twilio's REST API and returns the status and the
// (bounded) body.
func (c *client) do(ctx context.Context, method, u string, form url.Values) (int, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, notify.Permanent(fmt.Errorf("build the request to Twilio: %w", err))
	}
	req.SetBasicAuth(c.s.AccountSID, c.s.AuthToken)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "lastmile")
	resp, err := c.http.Do(req)
	if err != nil {
		// The error names the URL, which holds the Account SID but never the
		// auth token (that travels in the header).
		return 0, nil, fmt.Errorf("could not reach Twilio: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, fmt.Errorf("could not read Twilio's answer: %w", err)
	}
	return resp.StatusCode, b, nil
}

// create posts form to one of the account's list resources (Messages.json,
// Calls.json) and returns the sid of what Twilio created.
func (c *client) create(ctx context.Context, resource string, form url.Values, to string) (string, error) {
	status, body, err := c.do(ctx, http.MethodPost, c.accountURL("/"+resource), form)
	if err != nil {
		return "", err
	}
	if status < 200 || status > 299 {
		return "", refusal(status, body, to)
	}
	var created struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body, &created); err != nil || created.SID == "" {
		// Twilio took it: failing now would send it twice on retry.
		c.log.Warn("twilio accepted a request but its answer has no sid", "resource", resource, "status", status)
	}
	return created.SID, nil
}

// refusal turns Twilio's error answer into a send error in plain words:
// Permanent for what a retry cannot fix, a plain error for 408, 429 and
// 5xx.
func refusal(status int, body []byte, to string) error {
	var e apiError
	_ = json.Unmarshal(body, &e)
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = http.StatusText(status)
	}
	ref := fmt.Sprintf("HTTP %d", status)
	if e.Code != 0 {
		ref = fmt.Sprintf("error %d", e.Code)
	}
	switch e.Code {
	case 20003:
		return notify.Permanent(fmt.Errorf("Twilio refused the Account SID or auth token (%s): check the Twilio settings: %w", ref, notify.ErrProviderRefused))
	case 21211, 21217, 21401, 21421:
		return notify.Permanent(fmt.Errorf("Twilio refused the number %s: not a valid phone number (%d)", to, e.Code))
	case 21614:
		return notify.Permanent(fmt.Errorf("Twilio refused the number %s: it cannot receive SMS, perhaps a landline (%d)", to, e.Code))
	case 21612:
		return notify.Permanent(fmt.Errorf("Twilio cannot reach the number %s from the sending number (%d)", to, e.Code))
	case 21610:
		return notify.Permanent(fmt.Errorf("Twilio will not send SMS to %s: the recipient replied STOP and must text START to the sending number to get SMS again (%d)", to, e.Code))
	case 21408, 21215:
		return notify.Permanent(fmt.Errorf("Twilio refused the number %s: this account may not reach its country; allow it under Geo permissions in the Twilio console (%d)", to, e.Code))
	case 21608, 21219:
		return notify.Permanent(fmt.Errorf("Twilio refused the number %s: a trial account reaches only verified numbers; verify it or upgrade the account in the Twilio console (%d)", to, e.Code))
	case 21606, 21659, 21660, 21210, 21212:
		return notify.Permanent(fmt.Errorf("Twilio refused the sending number: fromNumber must be a number of this Twilio account that can send SMS and place calls (%d: %s)", e.Code, msg))
	}
	switch {
	case status == http.StatusUnauthorized:
		return notify.Permanent(fmt.Errorf("Twilio refused the Account SID or auth token (%s): check the Twilio settings: %w", ref, notify.ErrProviderRefused))
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return fmt.Errorf("Twilio is busy or unavailable, will retry (%s: %s)", ref, msg)
	default:
		return notify.Permanent(fmt.Errorf("Twilio refused to send to %s: %s (%s)", to, msg, ref))
	}
}

// check asks Twilio whether the credentials work and the sending number
// belongs to the account, without sending anything.
func (c *client) check(ctx context.Context) error {
	status, body, err := c.do(ctx, http.MethodGet, c.accountURL(".json"), nil)
	if err != nil {
		return err
	}
	switch {
	case status == http.StatusUnauthorized:
		return errors.New("Twilio refused the Account SID or auth token: copy both again from Account Info in the Twilio console")
	case status == http.StatusNotFound || status == http.StatusForbidden:
		return fmt.Errorf("Twilio has no account %s reachable with this auth token: check accountSid", c.s.AccountSID)
	case status < 200 || status > 299:
		return fmt.Errorf("Twilio answered HTTP %d when asked about the account; try again later", status)
	}
	var acct struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &acct); err != nil {
		return fmt.Errorf("Twilio's account answer is not JSON; is apiUrl %s right?", c.s.APIURL)
	}
	if acct.Status != "" && acct.Status != "active" {
		return fmt.Errorf("the Twilio account %s is %s: it cannot send", c.s.AccountSID, acct.Status)
	}
	if c.s.FromNumber == "" {
		return nil
	}
	status, body, err = c.do(ctx, http.MethodGet, c.accountURL("/IncomingPhoneNumbers.json?PhoneNumber="+url.QueryEscape(c.s.FromNumber)), nil)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("Twilio answered HTTP %d when asked about the number %s; try again later", status, c.s.FromNumber)
	}
	var list struct {
		Numbers []struct {
			PhoneNumber string `json:"phone_number"`
		} `json:"incoming_phone_numbers"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("Twilio's phone number list is not JSON; is apiUrl %s right?", c.s.APIURL)
	}
	for _, n := range list.Numbers {
		if n.PhoneNumber == c.s.FromNumber {
			return nil
		}
	}
	return fmt.Errorf("the number %s is not a Twilio number of this account: buy or port it under Phone Numbers in the Twilio console, or correct fromNumber", c.s.FromNumber)
}
