package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Answer is a provider's answer to a post: its status and the start of
// its body (enough for an error word).
type Answer struct {
	Status     int
	StatusLine string // "429 Too Many Requests"
	Header     http.Header
	Body       []byte
}

// Response returns the answer as an *http.Response without a body, for
// code that reads statuses from one.
func (a Answer) Response() *http.Response {
	return &http.Response{StatusCode: a.Status, Status: a.StatusLine, Header: a.Header}
}

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 8 << 10

// PostJSON posts v as JSON to rawURL with client and returns the answer.
// Errors never show the URL, which often holds its own credential (a
// Slack or Teams webhook path, a sig parameter): what names the target
// for people instead. A target the SSRF guard refused is a Permanent
// error. Interpreting the answer is the caller's.
func PostJSON(ctx context.Context, client *http.Client, rawURL, what string, v any, header http.Header) (Answer, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return Answer{}, Permanent(fmt.Errorf("encode %s: %w", what, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return Answer{}, Permanent(fmt.Errorf("the %s URL is not valid", what))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "lastmile")
	}
	resp, err := client.Do(req)
	if err != nil {
		return Answer{}, TransportError("post to "+what, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return Answer{Status: resp.StatusCode, StatusLine: resp.Status, Header: resp.Header, Body: raw}, nil
}

// TransportError describes a failed request without its URL: a refused
// target is Permanent, anything else is worth retrying.
func TransportError(what string, err error) error {
	if errors.Is(err, ErrBlockedAddress) {
		return Permanent(fmt.Errorf("%s: %w", what, ErrBlockedAddress))
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// OneLine keeps text fit for a subject or title line: no line breaks or
// control characters, runs of spaces made one.
func OneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
