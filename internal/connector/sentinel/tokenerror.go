package sentinel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// TokenError is a failed sign-in to Entra ID, in plain words.
type TokenError struct {
	Code     int    // AADSTS code, 0 when Entra gave none (network, bad config)
	Status   int    // HTTP status of Entra's answer, 0 when there was none
	Scope    string // the token's scope
	Plain    string // what went wrong, for people
	Response string // Entra's error_description, first line
	Err      error
}

func (e *TokenError) Error() string {
	s := "sign-in to Entra ID failed: " + e.Plain
	if e.Code != 0 {
		s += fmt.Sprintf(" (AADSTS%d)", e.Code)
	}
	return s
}

func (e *TokenError) Unwrap() error { return e.Err }

var (
	aadstsRE       = regexp.MustCompile(`AADSTS(\d+)`)
	aadstsPrefixRE = regexp.MustCompile(`^AADSTS\d+:\s*`)
)

// entraError is the body of a failed token request.
type entraError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

func (c *Client) tokenError(scope string, err error) error {
	te := &TokenError{Scope: scope, Err: err}
	var body entraError
	if afe, ok := errors.AsType[*azidentity.AuthenticationFailedError](err); ok && afe.RawResponse != nil {
		te.Status = afe.RawResponse.StatusCode
		if raw, rerr := runtime.Payload(afe.RawResponse); rerr == nil {
			_ = json.Unmarshal(raw, &body)
		}
	}
	if len(body.Codes) > 0 {
		te.Code = body.Codes[0]
	} else if m := aadstsRE.FindStringSubmatch(body.Description + " " + err.Error()); m != nil {
		te.Code, _ = strconv.Atoi(m[1])
	}
	te.Response = strings.TrimSpace(aadstsPrefixRE.ReplaceAllString(firstLine(body.Description), ""))
	te.Plain = c.aadstsWords(te.Code, scope, te.Response, err)
	return te
}

// aadstsWords says what an AADSTS code means for whoever set up the
// connector, naming the value to look at.
func (c *Client) aadstsWords(code int, scope, desc string, err error) string {
	tenant, client := strings.TrimSpace(c.cfg.TenantID), strings.TrimSpace(c.cfg.ClientID)
	switch code {
	case 7000215:
		return "the client secret is wrong (use the secret's value, not its id)"
	case 7000222:
		return "the client secret has expired: create a new one on the app registration"
	case 700016:
		return fmt.Sprintf("no app with client id %s in tenant %s (wrong tenant, or the app was deleted)", client, tenant)
	case 90002:
		return fmt.Sprintf("tenant %s not found (check the tenant id, and that it is in the public cloud)", tenant)
	case 900023:
		return fmt.Sprintf("tenant %s is neither a tenant id nor a domain Entra knows", tenant)
	case 500011:
		return fmt.Sprintf("the API behind %s is not available in tenant %s (its service principal is missing: the service is not set up there)", scope, tenant)
	case 1002012, 70011:
		return fmt.Sprintf("the scope %s was refused (client credentials need a resource's /.default scope)", scope)
	case 7000218:
		return "Entra got neither a client secret nor a certificate"
	case 700027:
		return "the certificate is not one of the app's credentials (upload its public part to the app registration)"
	case 700024:
		return "the certificate assertion is outside its valid time (is this machine's clock right?)"
	case 7000112:
		return fmt.Sprintf("the app %s is disabled in tenant %s", client, tenant)
	case 7000229:
		return fmt.Sprintf("the app %s has no service principal in tenant %s: an administrator must consent to it there", client, tenant)
	case 53003:
		return "a Conditional Access policy blocked the app's sign-in"
	case 50076, 50079:
		return "multi-factor authentication is demanded, which an app cannot do: exclude the app from that policy"
	}
	if code != 0 && desc != "" {
		return "Entra said: " + desc
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "the request was cancelled or timed out"
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Sprintf("could not reach Entra ID at %s: %v", c.ep.AuthorityHost, ue.Err)
	}
	// MSAL reports a failed discovery of the authority in words of its own,
	// with the network error somewhere on a later line.
	if msg := err.Error(); strings.Contains(msg, "unable to resolve an endpoint") {
		why := "no answer"
		for _, hint := range []string{"connection refused", "no such host", "i/o timeout", "certificate", "connection reset", "network is unreachable"} {
			if strings.Contains(msg, hint) {
				why = hint
				break
			}
		}
		return fmt.Sprintf("could not reach Entra ID at %s (%s): check the authority host and that this server can reach it", c.ep.AuthorityHost, why)
	}
	return firstLine(err.Error())
}

// firstLine keeps the first line of s: Entra's descriptions append trace
// and correlation ids on following lines.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}
