package azuresetup

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Service names, in error words.
const (
	serviceGraph = "Microsoft Graph"
	serviceARM   = "Azure Resource Manager"
)

const (
	maxTries     = 4
	maxRetryWait = 60 * time.Second
	maxBody      = 16 << 20
)

// apiClient sends REST calls with a bearer token, retrying throttling
// and server failures.
type apiClient struct {
	http  *http.Client
	cred  azcore.TokenCredential
	log   *slog.Logger
	sleep func(ctx context.Context, d time.Duration) error
}

// request is one call.
type request struct {
	service string
	what    string // "create the app registration": for error words
	method  string
	url     string
	scope   string // token scope; empty sends none
	body    any
	header  map[string]string
}

// APIError is a Microsoft service's refusal, with its code and message.
type APIError struct {
	Service string
	What    string
	Status  int
	Code    string
	Message string
	// Details are the codes of error.details (Graph puts
	// NoBackingApplicationObject there).
	Details []string
}

func (e *APIError) Error() string {
	tag := strconv.Itoa(e.Status)
	if e.Code != "" {
		tag += " " + e.Code
	}
	msg := e.Message
	if msg == "" {
		msg = "no reason given"
	}
	return fmt.Sprintf("%s refused to %s: %s (%s)", e.Service, e.What, msg, tag)
}

// is tells whether the error has this status and, when code is set, this
// code (in the error or its details), ignoring case.
func (e *APIError) is(status int, code string) bool {
	if e.Status != status {
		return false
	}
	if code == "" || strings.EqualFold(e.Code, code) {
		return true
	}
	for _, d := range e.Details {
		if strings.EqualFold(d, code) {
			return true
		}
	}
	return false
}

func asAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// isStatus tells whether err is an APIError with this status (and code).
func isStatus(err error, status int, code string) bool {
	e, ok := asAPIError(err)
	return ok && e.is(status, code)
}

// do sends r and decodes a JSON answer into out (when not nil). A non-2xx
// answer is an *APIError. 429 and 503 are retried for any call, other 5xx
// and network failures only for idempotent ones (not POST).
func (c *apiClient) do(ctx context.Context, r request, out any) (int, error) {
	var payload []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return 0, fmt.Errorf("encode the request to %s: %w", r.what, err)
		}
		payload = b
	}
	idempotent := r.method != http.MethodPost
	for try := 1; ; try++ {
		status, hdr, body, err := c.once(ctx, r, payload)
		if err != nil {
			if ctx.Err() != nil || !idempotent || try >= maxTries {
				return 0, err
			}
			if werr := c.wait(ctx, r, backoff(try), err); werr != nil {
				return 0, werr
			}
			continue
		}
		if status >= 200 && status < 300 {
			if out != nil && len(bytes.TrimSpace(body)) > 0 {
				if err := json.Unmarshal(body, out); err != nil {
					return status, fmt.Errorf("%s answered %s with unreadable JSON: %w", r.service, r.what, err)
				}
			}
			return status, nil
		}
		apiErr := parseError(r, status, body)
		retry := status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable ||
			(idempotent && (status == http.StatusInternalServerError || status == http.StatusBadGateway || status == http.StatusGatewayTimeout))
		if !retry || try >= maxTries {
			return status, apiErr
		}
		wait := backoff(try)
		if ra, ok := retryAfter(hdr.Get("Retry-After")); ok {
			wait = ra
		}
		if werr := c.wait(ctx, r, wait, apiErr); werr != nil {
			return status, werr
		}
	}
}

func (c *apiClient) wait(ctx context.Context, r request, d time.Duration, why error) error {
	c.log.Info("retrying Microsoft API call", "service", r.service, "call", r.what, "wait", d, "err", why)
	if err := c.sleep(ctx, d); err != nil {
		return fmt.Errorf("%s: waiting to retry: %w", r.what, err)
	}
	return nil
}

func (c *apiClient) once(ctx context.Context, r request, payload []byte) (int, http.Header, []byte, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s: bad URL: %w", r.what, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "lastmile-azure-setup")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.scope != "" {
		tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{r.scope}})
		if err != nil {
			return 0, nil, nil, fmt.Errorf("sign-in for %s: %w", r.service, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
	}
	c.log.Debug("Microsoft API call", "service", r.service, "method", r.method, "call", r.what)
	res, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, nil, fmt.Errorf("%s: %s is unreachable: %w", r.what, r.service, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s: reading %s's answer: %w", r.what, r.service, err)
	}
	return res.StatusCode, res.Header, b, nil
}

// parseError reads the {"error":{"code","message","details"}} shape Graph
// and ARM share.
func parseError(r request, status int, body []byte) *APIError {
	e := &APIError{Service: r.service, What: r.what, Status: status}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details []struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil {
		e.Code, e.Message = env.Error.Code, strings.TrimSpace(env.Error.Message)
		for _, d := range env.Error.Details {
			e.Details = append(e.Details, d.Code)
		}
	}
	if e.Message == "" && len(body) > 0 && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		e.Message = strings.TrimSpace(string(body))
	}
	if len(e.Message) > 500 {
		e.Message = e.Message[:500] + "…"
	}
	return e
}

// backoff is 1 s, 2 s, 4 s … capped.
func backoff(try int) time.Duration {
	d := time.Second << (try - 1)
	if d > maxRetryWait || d <= 0 {
		return maxRetryWait
	}
	return d
}

func retryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || secs < 0 {
		return 0, false
	}
	d := time.Duration(secs * float64(time.Second))
	if d > maxRetryWait {
		d = maxRetryWait
	}
	return d, true
}

// timerSleep waits d or until ctx ends.
func timerSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NewHTTPClient returns a client with sane timeouts that trusts the
// system's certificate authorities plus those in caPEM (the emulator's).
func NewHTTPClient(caPEM []byte) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 15 * time.Second
	tr.ResponseHeaderTimeout = 60 * time.Second
	if len(caPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("the CA file holds no PEM certificate")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}, nil
}

// query builds "?a=b&…" with the api-version first, as ARM shows it.
func query(apiVersion string, extra url.Values) string {
	v := url.Values{}
	for k, vs := range extra {
		v[k] = vs
	}
	if apiVersion != "" {
		v.Set("api-version", apiVersion)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}
