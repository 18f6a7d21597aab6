package azureemu

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ingestionAPIVersion is the only Logs Ingestion api-version.
const ingestionAPIVersion = "2023-01-01"

// ingestionMaxBody is the Logs Ingestion limit per call (1 MB).
const ingestionMaxBody = 1 << 20

// serveIngestion is the Logs Ingestion API:
// POST /dataCollectionRules/{immutableId}/streams/{stream}?api-version=2023-01-01.
func (e *Emulator) serveIngestion(c *call) {
	segs := strings.Split(strings.Trim(c.r.URL.Path, "/"), "/")
	if len(segs) != 4 || !strings.EqualFold(segs[2], "streams") {
		c.cloudError(http.StatusNotFound, "NotFound", "The requested path does not exist.")
		return
	}
	if c.r.Method != http.MethodPost {
		c.cloudError(http.StatusMethodNotAllowed, "MethodNotAllowed", "Only POST is supported.")
		return
	}
	dcrID, stream := segs[1], segs[3]
	if v := c.r.URL.Query().Get("api-version"); v != ingestionAPIVersion {
		c.cloudError(http.StatusBadRequest, "InvalidApiVersion", fmt.Sprintf("The api-version '%s' is not supported. Supported: '%s'.", v, ingestionAPIVersion))
		return
	}
	p, f := c.authenticate(svcMonitor)
	switch f {
	case authOK:
	case authMissing:
		c.cloudError(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return
	case authExpired:
		c.cloudError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired.")
		return
	case authAudience:
		c.cloudError(http.StatusUnauthorized, "InvalidAuthenticationTokenAudience", "The access token has been obtained for wrong audience or resource '"+
			p.claims.Aud+"'. It should exactly match with one of the allowed audiences 'https://monitor.azure.com/','https://monitor.azure.com'.")
		return
	default:
		c.cloudError(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
		return
	}
	body, err := c.readBody(ingestionMaxBody)
	if errors.Is(err, errBodyTooLarge) {
		c.cloudError(http.StatusRequestEntityTooLarge, "ContentLengthLimitExceeded", "The request body exceeds the 1 MB limit for a single call.")
		return
	}
	if err != nil {
		c.cloudError(http.StatusBadRequest, "InvalidPayload", "The request body could not be read.")
		return
	}
	if strings.EqualFold(c.r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(zr, 64<<20))
		}
		if err != nil {
			c.cloudError(http.StatusBadRequest, "InvalidContentEncoding", "The request body is not valid gzip: "+err.Error())
			return
		}
	}
	records, err := decodeRecords(body)
	if err != nil {
		c.cloudError(http.StatusBadRequest, "InvalidPayload", "The payload must be a JSON array of objects: "+err.Error())
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	dcr := e.st.dcrs[strings.ToLower(dcrID)]
	if dcr == nil {
		c.cloudError(http.StatusNotFound, "NotFound", "Data collection rule with immutable Id '"+dcrID+"' not found.")
		return
	}
	if !e.st.canIngest(p, dcrID) {
		c.cloudError(http.StatusForbidden, "OperationFailed", fmt.Sprintf(
			"The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '%s' PipelineAccessResult: AccessGranted: False, IsRbacPresent: False, Message: Required authorization action was not found for tenantId %s objectId %s on resourceId %s.",
			dcrID, p.claims.Tid, p.claims.OID, dcrID))
		return
	}
	tableName, ok := dcr.Streams[stream]
	if !ok {
		for s, t := range dcr.Streams {
			if strings.EqualFold(s, stream) {
				tableName, ok = t, true
			}
		}
	}
	if !ok {
		c.cloudError(http.StatusBadRequest, "InvalidStream", "Stream '"+stream+"' is not declared in data collection rule '"+dcrID+"'.")
		return
	}
	t := e.st.data(dcr.ws).table(tableName)
	now := e.now()
	for _, rec := range records {
		row := map[string]any{}
		for k, v := range rec {
			row[k] = v
		}
		switch tg := row["TimeGenerated"].(type) {
		case nil:
			row["TimeGenerated"] = now
		case string:
			if ts, err := parseInstant(tg); err == nil {
				row["TimeGenerated"] = ts
			}
		}
		t.add(row, nil)
	}
	c.empty(http.StatusNoContent)
}

// decodeRecords parses a JSON array of objects, keeping integers as int64
// and other numbers as float64.
func decodeRecords(body []byte) ([]map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw []json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the array")
	}
	out := make([]map[string]any, 0, len(raw))
	for i, r := range raw {
		d := json.NewDecoder(bytes.NewReader(r))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil || m == nil {
			return nil, fmt.Errorf("element %d is not an object", i)
		}
		for k, v := range m {
			m[k] = normaliseNumber(v)
		}
		out = append(out, m)
	}
	return out, nil
}

func normaliseNumber(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normaliseNumber(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normaliseNumber(e)
		}
	}
	return v
}

// isTimeString reports whether s is an ISO 8601 timestamp.
func isTimeString(s string) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[10] != 'T' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err == nil
}
