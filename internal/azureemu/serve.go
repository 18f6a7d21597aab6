package azureemu

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The API a request belongs to, as recorded in Request.API.
const (
	APIEntra         = "entra"
	APIARM           = "arm"
	APIGraph         = "graph"
	APILogAnalytics  = "loganalytics"
	APIIngestion     = "ingestion"
	APIDataCollector = "datacollector"
	APIUnknown       = "unknown"
)

// Request is one request the emulator answered, for assertions.
type Request struct {
	Time   time.Time
	API    string
	Method string
	Path   string
	Query  string
	Status int
	// App is the client id of the authenticated app (token requests
	// included), empty when authentication failed or was not attempted.
	App string
}

// maxRequestLog bounds the request log of a long-running emulator; the
// older half is dropped when it is full.
const maxRequestLog = 10000

// Requests returns the requests answered so far, oldest first (at most the
// last 10000).
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.st.requests)
}

// call carries one request through the handlers.
type call struct {
	e      *Emulator
	w      http.ResponseWriter
	r      *http.Request
	api    string
	reqID  string
	status int
	app    string
}

// Handler serves every emulated API on one host, routed by path. Start uses
// it; mount it yourself to serve on an address of your choosing (clients
// must reach it over https for the Azure SDKs to send tokens).
func (e *Emulator) Handler() http.Handler { return http.HandlerFunc(e.serve) }

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request) {
	c := &call{e: e, w: w, r: r, api: apiOf(r.URL.Path), reqID: uuid.NewString()}
	h := w.Header()
	h.Set("Date", e.now().Format(http.TimeFormat))
	h.Set("x-ms-request-id", c.reqID)
	h.Set("request-id", c.reqID)
	if v := r.Header.Get("client-request-id"); v != "" {
		h.Set("client-request-id", v)
	}
	if v := r.Header.Get("x-ms-client-request-id"); v != "" {
		h.Set("x-ms-client-request-id", v)
	}
	if c.api == APIARM {
		h.Set("x-ms-correlation-request-id", c.reqID)
		h.Set("x-ms-routing-request-id", "WESTEUROPE:"+e.now().Format("20060102T150405Z")+":"+c.reqID)
	}
	defer e.record(c)
	if !e.wait(r.Context()) {
		c.status = 499 // the client went away during the injected delay
		return
	}
	if e.injectFault(c) {
		return
	}
	switch c.api {
	case APIARM:
		e.serveARM(c)
	case APIGraph:
		e.serveGraph(c)
	case APILogAnalytics:
		e.serveQuery(c)
	case APIIngestion:
		e.serveIngestion(c)
	case APIDataCollector:
		e.serveDataCollector(c)
	default:
		if !e.serveEntra(c) {
			c.json(http.StatusNotFound, map[string]any{"error": map[string]any{
				"code": "PathNotFound", "message": "The requested path does not exist in the emulator: " + r.URL.Path}})
		}
	}
}

func apiOf(path string) string {
	lower := strings.ToLower(path)
	switch {
	case strings.HasPrefix(lower, "/subscriptions/"), lower == "/subscriptions", strings.HasPrefix(lower, "/providers/microsoft.authorization/"):
		return APIARM
	case strings.HasPrefix(path, "/v1.0/"), strings.HasPrefix(path, "/beta/"):
		return APIGraph
	case strings.HasPrefix(lower, "/v1/workspaces/"):
		return APILogAnalytics
	case strings.HasPrefix(lower, "/datacollectionrules/"):
		return APIIngestion
	case lower == "/api/logs":
		return APIDataCollector
	case strings.Contains(lower, "/oauth2/"), strings.Contains(lower, "/.well-known/"), strings.Contains(lower, "/discovery/"):
		return APIEntra
	}
	return APIUnknown
}

func (e *Emulator) record(c *call) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	e.log.Debug("azure emulator", "api", c.api, "method", c.r.Method, "path", c.r.URL.Path,
		"status", c.status, "app", c.app, "request_id", c.reqID)
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.st.requests) >= maxRequestLog {
		e.st.requests = append(e.st.requests[:0], e.st.requests[len(e.st.requests)-maxRequestLog/2:]...)
	}
	e.st.requests = append(e.st.requests, Request{
		Time: e.now(), API: c.api, Method: c.r.Method, Path: c.r.URL.Path,
		Query: c.r.URL.RawQuery, Status: c.status, App: c.app,
	})
}

// SetDelay makes every later request wait d before being answered
// (simulated latency). Zero turns it off.
func (e *Emulator) SetDelay(d time.Duration) {
	e.mu.Lock()
	e.st.delay = d
	e.mu.Unlock()
}

func (e *Emulator) wait(ctx context.Context) bool {
	e.mu.Lock()
	d := e.st.delay
	e.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *call) json(status int, v any) {
	c.jsonType(status, v, "application/json; charset=utf-8")
}

func (c *call) jsonType(status int, v any, contentType string) {
	b, err := json.Marshal(v)
	if err != nil {
		c.e.log.Error("azure emulator: encode response", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"InternalServerError","message":"emulator failed to encode its answer"}}`)
	}
	c.w.Header().Set("Content-Type", contentType)
	c.status = status
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
}

func (c *call) raw(status int, contentType string, body []byte) {
	if contentType != "" {
		c.w.Header().Set("Content-Type", contentType)
	}
	c.status = status
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

func (c *call) empty(status int) {
	c.status = status
	c.w.WriteHeader(status)
}

// errBodyTooLarge reports a body above the API's limit.
var errBodyTooLarge = errors.New("request body too large")

// readBody reads at most limit bytes of the request body.
func (c *call) readBody(limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(c.r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errBodyTooLarge
	}
	return b, nil
}

// baseURL is the scheme and host the client used, for links it must follow
// back to the emulator (nextLink, token endpoints).
func (c *call) baseURL() string { return "https://" + c.r.Host }
