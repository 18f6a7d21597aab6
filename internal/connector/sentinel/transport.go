package sentinel

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Retry budget and body bounds.
const (
	maxTries        = 4                // first try plus three retries
	maxRetryWait    = 60 * time.Second // the longest Retry-After honoured
	baseBackoff     = 1 * time.Second
	defaultMaxBody  = 16 << 20 // ARM and Graph pages
	maxErrorBody    = 64 << 10
	userAgent       = "lastmile-sentinel-connector"
	contentTypeJSON = "application/json"
)

// request is one call to a Microsoft API with what error words need.
type request struct {
	service     string
	what        string // "list incidents": the call, for error words
	method      string
	url         string
	scope       string // token scope; empty sends no bearer token
	body        []byte
	contentType string
	header      http.Header
	// idempotent calls are retried after any 5xx or network failure;
	// others only after 429/503, which the services answer before acting.
	idempotent bool
	maxBody    int64
	// sign sets per-try headers that depend on the moment (Data Collector).
	sign func(*http.Request) error

	permission string // role or Graph permission a 403 means is missing
	// exactPermission: permission is what the call needs, whatever action
	// the 403 names (a label change needs more than the action suggests).
	exactPermission bool
	subject         string // where the role is needed, for error words
	notFound        string // plain words for a 404
	refused         string // plain words for a 403 not about a role
}

// response is a successful answer, body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// jsonRequest fills r's body with v as JSON.
func jsonRequest(r request, v any) (request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return r, fmt.Errorf("encode %s request: %w", r.what, err)
	}
	r.body, r.contentType = b, contentTypeJSON
	return r, nil
}

// do sends r, retrying throttling and server failures and replacing an
// expired token once. A non-2xx answer comes back as *APIError.
func (c *Client) do(ctx context.Context, r request) (response, error) {
	var (
		claims    string
		refreshed bool
	)
	for try := 1; ; try++ {
		if err := ctx.Err(); err != nil {
			return response{}, fmt.Errorf("%s: %w", r.what, err)
		}
		resp, err := c.once(ctx, r, claims)
		if err != nil {
			var ne *netError
			if !errors.As(err, &ne) || ctx.Err() != nil || !r.idempotent || try >= maxTries {
				if try > 1 && ne != nil {
					err = fmt.Errorf("%w (after %d tries)", err, try)
				}
				return response{}, err
			}
			if werr := c.wait(ctx, r, try, c.backoff(try), err.Error()); werr != nil {
				return response{}, werr
			}
			continue
		}
		if resp.status >= 200 && resp.status < 300 {
			return resp, nil
		}
		apiErr := c.apiError(r, resp, try)
		switch {
		case resp.status == http.StatusUnauthorized && r.scope != "" && !refreshed:
			// The service no longer takes the token (expired or revoked
			// early): ask Entra for a new one, once.
			refreshed = true
			claims = challengeClaims(resp.header.Get("WWW-Authenticate"))
			if claims == "" {
				claims = c.freshClaims()
			}
			c.log.Debug("token refused, getting a new one", "service", r.service, "call", r.what)
			try-- // a refused token is not the service failing
			continue
		case try >= maxTries || !retryable(resp.status, r.idempotent):
			return response{}, apiErr
		}
		claims = "" // a fresh token is cached now; later tries use the cache
		wait := c.backoff(try)
		if ra, ok := c.retryAfter(resp.header); ok {
			wait = ra
		}
		if werr := c.wait(ctx, r, try, wait, apiErr.Error()); werr != nil {
			return response{}, werr
		}
	}
}

func (c *Client) wait(ctx context.Context, r request, try int, d time.Duration, why string) error {
	c.log.Info("retrying Microsoft API call", "service", r.service, "call", r.what, "try", try, "wait", d, "err", why)
	if err := c.sleep(ctx, d); err != nil {
		return fmt.Errorf("%s: waiting to retry: %w", r.what, err)
	}
	return nil
}

// once sends r one time.
func (c *Client) once(ctx context.Context, r request, claims string) (response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return response{}, fmt.Errorf("%s: bad URL: %w", r.what, err)
	}
	for k, vs := range r.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Accept", contentTypeJSON)
	req.Header.Set("User-Agent", userAgent)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.scope != "" {
		tok, err := c.token(ctx, r.scope, claims)
		if err != nil {
			return response{}, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if r.sign != nil {
		if err := r.sign(req); err != nil {
			return response{}, fmt.Errorf("%s: %w", r.what, err)
		}
	}
	res, err := c.http.Do(req)
	if err != nil {
		// The URL may carry a signature or token: keep it out of errors.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return response{}, &netError{fmt.Errorf("%s: %s is unreachable: %w", r.what, r.service, err)}
	}
	defer res.Body.Close()
	limit := r.maxBody
	if limit <= 0 {
		limit = defaultMaxBody
	}
	if res.StatusCode >= 300 {
		limit = maxErrorBody
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return response{}, &netError{fmt.Errorf("%s: reading %s's answer: %w", r.what, r.service, err)}
	}
	if int64(len(b)) > limit {
		if res.StatusCode >= 300 {
			b = b[:limit]
		} else {
			return response{}, fmt.Errorf("%s: %s's answer is larger than %d bytes", r.what, r.service, limit)
		}
	}
	return response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// netError is a failure to get an answer at all: worth another try for
// calls that may be repeated.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

func retryable(status int, idempotent bool) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusRequestTimeout:
		return idempotent
	}
	return false
}

// backoff is exponential with jitter: 1 s, 2 s, 4 s… each between half
// and all of that, so clients that failed together do not retry together.
func (c *Client) backoff(try int) time.Duration {
	d := baseBackoff << (try - 1)
	if d > maxRetryWait {
		d = maxRetryWait
	}
	return d/2 + jitter(d/2)
}

// retryAfter reads the wait a throttled answer asks for: the
// millisecond headers ARM uses, then Retry-After as seconds (possibly
// fractional) or an HTTP date, capped.
func (c *Client) retryAfter(h http.Header) (time.Duration, bool) {
	for _, k := range []string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if v := strings.TrimSpace(h.Get(k)); v != "" {
			var ms float64
			if _, err := fmt.Sscanf(v, "%g", &ms); err == nil && ms >= 0 {
				return capWait(time.Duration(ms * float64(time.Millisecond))), true
			}
		}
	}
	return parseRetryAfter(h.Get("Retry-After"), c.clock.Now())
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var secs float64
	if _, err := fmt.Sscanf(v, "%g", &secs); err == nil && !strings.ContainsAny(v, ",:") {
		if secs < 0 {
			return 0, false
		}
		return capWait(time.Duration(secs * float64(time.Second))), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return capWait(t.Sub(now)), true
	}
	return 0, false
}

func capWait(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d > maxRetryWait:
		return maxRetryWait
	}
	return d
}

// challengeClaims pulls the claims a CAE challenge asks for out of a
// WWW-Authenticate header (base64, as the services send them).
func challengeClaims(h string) string {
	i := strings.Index(h, `claims="`)
	if i < 0 {
		return ""
	}
	rest := h[i+len(`claims="`):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	enc := rest[:j]
	for _, dec := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := dec.DecodeString(enc); err == nil && json.Valid(b) {
			return string(b)
		}
	}
	return ""
}

// apiError turns a failed answer into an *APIError with the call's words.
func (c *Client) apiError(r request, resp response, tries int) *APIError {
	code, msg := parseErrorBody(resp.body, resp.header)
	e := &APIError{Status: resp.status, Code: code, Message: msg, Service: r.service,
		what: r.what, subject: r.subject, notFound: r.notFound, refused: r.refused, tries: tries}
	if resp.status == http.StatusForbidden && r.refused == "" {
		e.Permission = missingPermission(r.service, code, msg, r.permission, r.exactPermission)
	}
	if resp.status == http.StatusNotFound {
		if words := c.armNotFound(code, msg); words != "" {
			e.notFound = words
		}
	}
	return e
}

// armNotFound words ARM's 404s about the containers, which say more than
// the call's own "incident not found".
func (c *Client) armNotFound(code, msg string) string {
	switch code {
	case "SubscriptionNotFound":
		return fmt.Sprintf("subscription %s not found (or the app has no role in it)", c.cfg.SubscriptionID)
	case "ResourceGroupNotFound":
		return fmt.Sprintf("resource group %s not found in subscription %s", c.cfg.ResourceGroup, c.cfg.SubscriptionID)
	case "ResourceNotFound":
		if strings.Contains(strings.ToLower(msg), "microsoft.operationalinsights/workspaces") {
			return c.workspaceNotFound()
		}
	}
	return ""
}

func (c *Client) workspaceNotFound() string {
	return fmt.Sprintf("workspace %s not found in resource group %s", c.cfg.WorkspaceName, c.cfg.ResourceGroup)
}
