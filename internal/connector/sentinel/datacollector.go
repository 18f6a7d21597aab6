package sentinel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// HTTP Data Collector API (legacy custom logs). Deprecated by Microsoft
// in favour of Logs Ingestion; kept for workspaces still on it.
const (
	DataCollectorAPIVersion = "2016-04-01"
	maxDataCollectorBody    = 30 << 20
)

var logTypeRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,100}$`)

// DataCollectorURL is the public cloud's Data Collector base URL for a
// workspace.
func DataCollectorURL(workspaceID string) string {
	return "https://" + strings.TrimSpace(workspaceID) + ".ods.opinsights.azure.com"
}

// PostDataCollector posts records to the <logType>_CL table of a
// workspace, signed with the workspace's shared key. baseURL empty means
// the public cloud's. timeGenerated, when set, names the record field
// holding each record's time.
func (c *Client) PostDataCollector(ctx context.Context, baseURL, workspaceID, sharedKeyB64, logType string, records []map[string]any, timeGenerated string) error {
	workspaceID = strings.TrimSpace(workspaceID)
	if !isGUID(workspaceID) {
		return fmt.Errorf("post to Data Collector: workspace id %q must be a GUID", workspaceID)
	}
	if !logTypeRE.MatchString(logType) {
		return fmt.Errorf("post to Data Collector: log type %q must be letters, digits and '_', at most 100", logType)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sharedKeyB64))
	if err != nil || len(key) == 0 {
		return errors.New("post to Data Collector: the workspace shared key is not base64 (copy the primary or secondary key as shown)")
	}
	if baseURL == "" {
		baseURL = DataCollectorURL(workspaceID)
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("post to Data Collector: base URL %q must be an https URL", baseURL)
	}
	if records == nil {
		records = []map[string]any{}
	}
	body, err := json.Marshal(records)
	if err != nil {
		return fmt.Errorf("post to Data Collector: encode records: %w", err)
	}
	if len(body) > maxDataCollectorBody {
		return fmt.Errorf("post to Data Collector: %d bytes is more than the 30 MB a post may carry", len(body))
	}
	h := http.Header{"Log-Type": {logType}}
	if timeGenerated != "" {
		h.Set("time-generated-field", timeGenerated)
	}
	req := request{
		service: ServiceDataCollector, what: "post " + logType + " records", method: http.MethodPost,
		url:  strings.TrimRight(u.String(), "/") + "/api/logs?" + encodeQuery(url.Values{"api-version": {DataCollectorAPIVersion}}),
		body: body, contentType: contentTypeJSON, header: h,
		refused:  "the workspace id or shared key is wrong (InvalidAuthorization means the signature did not match)",
		notFound: "Data Collector endpoint not found at " + u.Host + " (wrong workspace id or URL)",
		sign: func(r *http.Request) error {
			// Signed per try: x-ms-date must be current.
			date := c.clock.Now().UTC().Format(http.TimeFormat)
			r.Header.Set("x-ms-date", date)
			r.Header.Set("Authorization", dataCollectorAuth(workspaceID, key, date, len(body), r.Header.Get("Content-Type")))
			return nil
		},
	}
	_, err = c.do(ctx, req)
	return err
}

// dataCollectorAuth is the SharedKey Authorization value: HMAC-SHA256,
// keyed by the decoded shared key, of
// "POST\n{length}\n{content type}\nx-ms-date:{date}\n/api/logs".
// The content type signed is the one sent, byte for byte.
func dataCollectorAuth(workspaceID string, key []byte, date string, contentLength int, contentType string) string {
	msg := "POST\n" + strconv.Itoa(contentLength) + "\n" + contentType + "\nx-ms-date:" + date + "\n/api/logs"
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msg))
	return "SharedKey " + workspaceID + ":" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
