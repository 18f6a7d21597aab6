package azureemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// dataCollectorAPIVersion is the HTTP Data Collector API version.
const dataCollectorAPIVersion = "2016-04-01"

// dataCollectorMaxBody is the 30 MB per-post limit.
const dataCollectorMaxBody = 30 << 20

// dateSkew is how far x-ms-date may be from the clock.
const dateSkew = 15 * time.Minute

var logTypeRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,100}$`)

// SignDataCollector computes the Authorization header value of the HTTP
// Data Collector API for a body of contentLength bytes, as clients must:
// SharedKey {workspaceId}:{base64(HMAC-SHA256(base64decode(key), stringToSign))}.
// It is exported for tests of the emulator and of clients.
func SignDataCollector(workspaceID, sharedKey, date, contentType string, contentLength int) (string, error) {
	key, err := base64.StdEncoding.DecodeString(sharedKey)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("POST\n" + strconv.Itoa(contentLength) + "\n" + contentType + "\nx-ms-date:" + date + "\n/api/logs"))
	return "SharedKey " + workspaceID + ":" + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// serveDataCollector is the HTTP Data Collector API: POST
// /api/logs?api-version=2016-04-01. The real host is
// {workspaceId}.ods.opinsights.azure.com; here the workspace comes from
// the SharedKey header.
func (e *Emulator) serveDataCollector(c *call) {
	if c.r.Method != http.MethodPost {
		c.dcError(http.StatusNotFound, "NotFound", "The requested resource was not found.")
		return
	}
	switch v := c.r.URL.Query().Get("api-version"); {
	case v == "":
		c.dcError(http.StatusBadRequest, "MissingApiVersion", "The API version wasn't specified.")
		return
	case v != dataCollectorAPIVersion:
		c.dcError(http.StatusBadRequest, "InvalidApiVersion", "The API version that you specified wasn't recognized by the service.")
		return
	}
	ct := c.r.Header.Get("Content-Type")
	if ct == "" {
		c.dcError(http.StatusBadRequest, "MissingContentType", "The content type wasn't specified.")
		return
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		c.dcError(http.StatusBadRequest, "UnsupportedContentType", "The content type wasn't set to application/json.")
		return
	}
	logType := c.r.Header.Get("Log-Type")
	if logType == "" {
		c.dcError(http.StatusBadRequest, "MissingLogType", "The required value log type wasn't specified.")
		return
	}
	if !logTypeRE.MatchString(logType) {
		c.dcError(http.StatusBadRequest, "InvalidLogType", "The log type contained special characters or numerics at the start, or exceeded 100 characters.")
		return
	}
	scheme, cred, _ := strings.Cut(c.r.Header.Get("Authorization"), " ")
	wsID, sig, okCred := strings.Cut(cred, ":")
	if scheme != "SharedKey" || !okCred || wsID == "" || sig == "" {
		c.dcError(http.StatusForbidden, "InvalidAuthorization", "An invalid scheme was specified in the Authorization header")
		return
	}
	date := c.r.Header.Get("x-ms-date")
	sent, err := time.Parse(http.TimeFormat, date)
	if err != nil {
		c.dcError(http.StatusForbidden, "InvalidAuthorization", "An invalid date format used in the x-ms-date header.")
		return
	}
	if d := e.now().Sub(sent); d > dateSkew || d < -dateSkew {
		c.dcError(http.StatusForbidden, "InvalidAuthorization", "The x-ms-date header is more than 15 minutes away from the service time.")
		return
	}
	body, err := c.readBody(dataCollectorMaxBody)
	if errors.Is(err, errBodyTooLarge) {
		c.dcError(http.StatusRequestEntityTooLarge, "RequestTooLarge", "The request exceeds the 30 MB limit.")
		return
	}
	if err != nil {
		c.dcError(http.StatusBadRequest, "InvalidDataFormat", "The request body could not be read.")
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.st.workspaceByID(wsID)
	if ws == nil {
		c.dcError(http.StatusBadRequest, "InvalidCustomerId", "The workspace ID specified is invalid.")
		return
	}
	want, err := SignDataCollector(ws.WorkspaceID, ws.SharedKey, date, ct, len(body))
	if err != nil || !hmac.Equal([]byte(want[strings.Index(want, ":")+1:]), []byte(sig)) {
		c.dcError(http.StatusForbidden, "InvalidAuthorization", "An invalid signature was specified in the Authorization header")
		return
	}
	records, err := decodeRecords(body)
	if err != nil {
		c.dcError(http.StatusBadRequest, "InvalidDataFormat", "The request body must be a JSON array of records: "+err.Error())
		return
	}
	now := e.now()
	timeField := c.r.Header.Get("time-generated-field")
	t := e.st.data(ws).table(logType + "_CL")
	for _, rec := range records {
		row, types := dataCollectorRow(rec)
		row["TimeGenerated"] = now
		if s, ok := rec[timeField].(string); ok && timeField != "" {
			// Honoured only within the documented window (2 days back, 1 ahead).
			if ts, ok := isTimeString(s); ok && now.Sub(ts) <= 48*time.Hour && ts.Sub(now) <= 24*time.Hour {
				row["TimeGenerated"] = ts
			}
		}
		if rid := c.r.Header.Get("x-ms-AzureResourceId"); rid != "" {
			row["_ResourceId"] = rid
		}
		t.add(row, types)
	}
	c.raw(http.StatusOK, "", nil)
}

// dataCollectorRow names columns the way the Data Collector does, by the
// value's type: _s string, _d double, _b bool, _t datetime, _g GUID. Null
// properties are dropped; nested values are stored as JSON text.
func dataCollectorRow(rec map[string]any) (map[string]any, map[string]string) {
	row := map[string]any{}
	types := map[string]string{}
	for k, v := range rec {
		switch x := v.(type) {
		case nil:
		case bool:
			row[k+"_b"] = x
		case int64:
			row[k+"_d"] = float64(x)
		case float64:
			row[k+"_d"] = x
		case string:
			if ts, ok := isTimeString(x); ok {
				row[k+"_t"] = ts
			} else if _, err := uuid.Parse(x); err == nil && len(x) == 36 {
				row[k+"_g"] = x
				types[k+"_g"] = "guid"
			} else {
				row[k+"_s"] = x
			}
		default:
			b, _ := json.Marshal(x)
			row[k+"_s"] = string(b)
		}
	}
	return row, types
}

// dcError writes the Data Collector's PascalCase error body.
func (c *call) dcError(status int, code, msg string) {
	c.json(status, map[string]any{"Error": code, "Message": msg})
}
