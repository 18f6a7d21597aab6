package sentinel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Service names, as APIError.Service and in error words.
const (
	ServiceSentinel      = "Sentinel"
	ServiceARM           = "Azure Resource Manager"
	ServiceGraph         = "Graph"
	ServiceLogAnalytics  = "Log Analytics"
	ServiceIngestion     = "Logs Ingestion"
	ServiceDataCollector = "Data Collector"
)

// APIError is a Microsoft service's refusal or failure, in plain words.
type APIError struct {
	Status     int
	Code       string // the service's error code (AuthorizationFailed, Forbidden, BadArgumentError…)
	Message    string // the service's message, trimmed
	Service    string // ServiceSentinel, ServiceGraph, …
	Permission string // the role (Azure) or application permission (Graph) a 403 says is missing

	what     string // the call, e.g. "update incident 42"
	subject  string // where a role is needed, e.g. "workspace soc-ws"
	notFound string // plain words for a 404
	refused  string // plain words for a 403 that is not about a role
	tries    int
}

func (e *APIError) Error() string {
	tag := fmt.Sprint(e.Status)
	if e.Code != "" {
		tag += " " + e.Code
	}
	switch {
	case e.Status == http.StatusForbidden && e.Permission != "" && e.Service == ServiceGraph:
		return fmt.Sprintf("Graph refused: missing application permission %s (%s)", e.Permission, tag)
	case e.Status == http.StatusForbidden && e.Permission != "":
		return fmt.Sprintf("%s refused: the app lacks the '%s' role on %s (%s)", e.Service, e.Permission, e.subject, tag)
	case e.Status == http.StatusForbidden && e.refused != "":
		return fmt.Sprintf("%s refused: %s (%s)", e.Service, e.refused, tag)
	case e.Status == http.StatusNotFound && e.notFound != "":
		return fmt.Sprintf("%s (%s)", e.notFound, tag)
	case e.Status == http.StatusUnauthorized || isTokenCode(e.Code):
		return fmt.Sprintf("%s rejected the app's token: %s (%s)", e.Service, tokenWords(e.Code, e.Message), tag)
	case e.Status == http.StatusTooManyRequests:
		return fmt.Sprintf("%s is throttling the app and still was after %d tries (%s)", e.Service, e.tries, tag)
	case e.Status >= 500:
		return fmt.Sprintf("%s failed to %s: %s (%s, after %d tries)", e.Service, e.what, orDash(e.Message), tag, e.tries)
	}
	return fmt.Sprintf("%s refused to %s: %s (%s)", e.Service, e.what, orDash(e.Message), tag)
}

func orDash(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}

// isTokenCode tells the 401/403 codes that are about the token itself,
// not about what the app may do.
func isTokenCode(code string) bool {
	switch code {
	case "InvalidAuthenticationToken", "InvalidAuthenticationTokenAudience", "InvalidAuthenticationTokenTenant",
		"ExpiredAuthenticationToken", "AuthenticationFailed", "InvalidTokenError", "TokenExpired":
		return true
	}
	return false
}

func tokenWords(code, msg string) string {
	switch code {
	case "InvalidAuthenticationTokenAudience":
		return "it was issued for another service"
	case "InvalidAuthenticationTokenTenant":
		return "the subscription or workspace belongs to another tenant than the one configured"
	case "ExpiredAuthenticationToken", "TokenExpired":
		return "it has expired"
	}
	return orDash(msg)
}

// errorBody covers the shapes the services answer with: ARM CloudError
// and Graph/OneAPI {"error":{code,message,innerError|innererror,details}},
// and the Data Collector's {"Error":"Code","Message":"…"}.
type errorBody struct {
	Error   json.RawMessage `json:"error"`
	Message string          `json:"message"`
}

type errorInfo struct {
	Code       string       `json:"code"`
	Message    string       `json:"message"`
	InnerError *errorInfo   `json:"innerError"` // Graph and ARM; OneAPI's innererror matches too (case-insensitive)
	Details    []*errorInfo `json:"details"`
}

// parseErrorBody returns the code and a message that joins the service's
// outer and most specific inner messages.
func parseErrorBody(body []byte, header http.Header) (code, msg string) {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil {
		if raw := bytes.TrimSpace(eb.Error); len(raw) > 0 && raw[0] == '"' {
			_ = json.Unmarshal(raw, &code)
			msg = eb.Message
		} else if len(raw) > 0 && raw[0] == '{' {
			var ei errorInfo
			if json.Unmarshal(raw, &ei) == nil {
				code, msg = ei.Code, joinInner(&ei)
			}
		}
	}
	if code == "" {
		code = header.Get("x-ms-error-code")
	}
	if msg == "" && len(body) > 0 && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		msg = string(body)
	}
	return code, clip(oneLine(msg), 400)
}

// joinInner adds the deepest inner message, or the first detail's, when
// it says more than the outer one ("The request had some invalid
// properties" → the actual syntax error).
func joinInner(ei *errorInfo) string {
	msg := ei.Message
	inner := ""
	for in := ei.InnerError; in != nil; in = in.InnerError {
		if in.Message != "" {
			inner = in.Message
		}
	}
	if inner == "" && len(ei.Details) > 0 && ei.Details[0] != nil {
		inner = ei.Details[0].Message
	}
	if inner != "" && inner != msg && !strings.Contains(msg, inner) {
		if msg == "" {
			return inner
		}
		return msg + ": " + inner
	}
	return msg
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

var (
	graphPermRE = regexp.MustCompile(`\bSecurity(?:Incident|Alert|Events)\.(?:Read|ReadWrite)\.All\b`)
	armActionRE = regexp.MustCompile(`perform action '([^']+)'`)
)

// missingPermission says which permission a 403 is about: the one the
// message names when it names one, else the call's own.
func missingPermission(service, code, msg, fallback string, exact bool) string {
	if isTokenCode(code) {
		return ""
	}
	if exact {
		return fallback
	}
	if service == ServiceGraph {
		if m := graphPermRE.FindString(msg); m != "" {
			return m
		}
		return fallback
	}
	if m := armActionRE.FindStringSubmatch(msg); m != nil {
		if r := roleForAction(m[1]); r != "" {
			return r
		}
	}
	return fallback
}

// roleForAction names the least built-in role granting an ARM action.
func roleForAction(action string) string {
	a := strings.ToLower(action)
	switch {
	case strings.HasPrefix(a, "microsoft.securityinsights/incidents/labels/"):
		return RoleSentinelContributor
	case strings.HasPrefix(a, "microsoft.securityinsights/") && strings.HasSuffix(a, "/read"):
		return RoleSentinelReader
	case strings.HasPrefix(a, "microsoft.securityinsights/"):
		return RoleSentinelResponder
	case strings.HasPrefix(a, "microsoft.operationalinsights/workspaces/query/"):
		return RoleLogAnalyticsReader
	case strings.HasPrefix(a, "microsoft.operationalinsights/workspaces/") && strings.HasSuffix(a, "/read"):
		return RoleReader
	}
	return ""
}

// Roles and application permissions the calls need.
const (
	RoleSentinelReader       = "Microsoft Sentinel Reader"
	RoleSentinelResponder    = "Microsoft Sentinel Responder"
	RoleSentinelContributor  = "Microsoft Sentinel Contributor"
	RoleLogAnalyticsReader   = "Log Analytics Reader"
	RoleReader               = "Reader"
	RoleMonitoringPublisher  = "Monitoring Metrics Publisher"
	PermIncidentRead         = "SecurityIncident.Read.All"
	PermIncidentReadWrite    = "SecurityIncident.ReadWrite.All"
	PermAlertRead            = "SecurityAlert.Read.All"
	PermAlertReadWrite       = "SecurityAlert.ReadWrite.All"
	PermLegacyAlertRead      = "SecurityEvents.Read.All"
	PermLegacyAlertReadWrite = "SecurityEvents.ReadWrite.All"
)
