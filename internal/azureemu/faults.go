package azureemu

import (
	"net/http"
	"strconv"
	"strings"
)

// FailRule makes the next Times requests that match fail with Status.
type FailRule struct {
	// PathContains is a substring of the URL path; empty matches any path.
	PathContains string
	// Method matches the HTTP method; empty matches any.
	Method string
	// Status is the HTTP status to answer, e.g. 429, 500, 503, 401.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header (seconds or
	// an HTTP date, as given).
	RetryAfter string
	// Body replaces the API's documented error body for Status.
	Body string
	// Times is how many matching requests fail; 0 means 1.
	Times int
}

type fault struct {
	FailRule
	left int
}

// Fail adds a fault rule. Rules are tried in the order added; a request
// consumes at most one.
func (e *Emulator) Fail(r FailRule) {
	if r.Times <= 0 {
		r.Times = 1
	}
	e.mu.Lock()
	e.st.faults = append(e.st.faults, &fault{FailRule: r, left: r.Times})
	e.mu.Unlock()
}

// ClearFaults drops the fault rules not yet used up.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	e.st.faults = nil
	e.mu.Unlock()
}

func (e *Emulator) injectFault(c *call) bool {
	e.mu.Lock()
	var hit *FailRule
	for i, f := range e.st.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, c.r.Method) {
			continue
		}
		if f.PathContains != "" && !strings.Contains(c.r.URL.Path, f.PathContains) {
			continue
		}
		r := f.FailRule
		hit = &r
		f.left--
		if f.left == 0 {
			e.st.faults = append(e.st.faults[:i], e.st.faults[i+1:]...)
		}
		break
	}
	e.mu.Unlock()
	if hit == nil {
		return false
	}
	if hit.RetryAfter != "" {
		c.w.Header().Set("Retry-After", hit.RetryAfter)
	}
	if hit.Body != "" {
		c.raw(hit.Status, "application/json; charset=utf-8", []byte(hit.Body))
		return true
	}
	c.faultBody(hit.Status)
	return true
}

// faultBody answers status in the error shape of the request's API.
func (c *call) faultBody(status int) {
	text := http.StatusText(status)
	switch c.api {
	case APIEntra:
		code, errName := 90033, "temporarily_unavailable"
		msg := "A transient error has occurred. Please try again."
		if status == http.StatusTooManyRequests {
			code, msg = 50196, "The server terminated an operation because it encountered a client request loop. Please contact your app vendor."
		} else if status < 500 {
			errName = "invalid_request"
			msg = text
		}
		c.entraError(status, errName, code, msg)
	case APIGraph:
		switch status {
		case http.StatusTooManyRequests:
			c.json(status, map[string]any{"error": map[string]any{
				"code":    "TooManyRequests",
				"message": "Please retry again later.",
				"innerError": map[string]any{
					"code": "429", "date": c.e.now().Format("2006-01-02T15:04:05"),
					"message": "Please retry after", "request-id": c.reqID, "status": "429",
				},
			}})
		case http.StatusUnauthorized:
			c.graphError(status, "InvalidAuthenticationToken", "Access token has expired.")
		case http.StatusServiceUnavailable:
			c.graphError(status, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.")
		case http.StatusGatewayTimeout:
			c.graphError(status, "UnknownError", "The gateway timed out.")
		default:
			c.graphError(status, "generalException", text)
		}
	case APIDataCollector:
		code := map[int]string{429: "TooManyRequests", 500: "UnspecifiedError", 503: "ServiceUnavailable", 403: "InvalidAuthorization"}[status]
		if code == "" {
			code = strings.ReplaceAll(text, " ", "")
		}
		c.json(status, map[string]any{"Error": code, "Message": text})
	default: // ARM, Log Analytics, Logs Ingestion share the OneAPI error shape
		code, msg := strings.ReplaceAll(text, " ", ""), text
		switch status {
		case http.StatusTooManyRequests:
			code = "TooManyRequests"
			msg = "The request is being throttled. Please try again after " + retryAfterOr(c, "1") + " seconds."
			if c.api == APIARM {
				c.w.Header().Set("x-ms-ratelimit-remaining-subscription-reads", "0")
			}
		case http.StatusUnauthorized:
			code, msg = "InvalidAuthenticationToken", "Access token has expired."
		case http.StatusInternalServerError:
			code, msg = "InternalServerError", "Encountered internal server error. Diagnostic information: timestamp '"+c.e.now().Format("20060102T150405Z")+"', request id '"+c.reqID+"'."
		case http.StatusServiceUnavailable:
			code, msg = "ServiceUnavailable", "The service is currently unavailable. Please try again later."
		}
		c.cloudError(status, code, msg)
	}
}

func retryAfterOr(c *call, def string) string {
	if v := c.w.Header().Get("Retry-After"); v != "" {
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return v
		}
	}
	return def
}
