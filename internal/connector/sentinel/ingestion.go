package sentinel

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Logs Ingestion limits: a call carries at most 1 MB; bodies above 64 KB
// are worth compressing.
const (
	IngestionAPIVersion = "2023-01-01"
	maxIngestBatch      = 1 << 20
	gzipAbove           = 64 << 10
)

// Upload sends records to a data collection rule's stream through the
// Logs Ingestion API, in as many calls as the 1 MB limit needs.
// endpoint is the DCE's or DCR's logs ingestion URL.
func (c *Client) Upload(ctx context.Context, endpoint, dcrImmutableID, stream string, records []map[string]any) error {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("upload logs: ingestion endpoint %q must be an https URL", endpoint)
	}
	if strings.TrimSpace(dcrImmutableID) == "" || strings.TrimSpace(stream) == "" {
		return errors.New("upload logs: the data collection rule's immutable id and the stream name are needed")
	}
	batches, err := ingestBatches(records, maxIngestBatch)
	if err != nil {
		return fmt.Errorf("upload logs: %w", err)
	}
	target := strings.TrimRight(u.String(), "/") + "/dataCollectionRules/" + url.PathEscape(dcrImmutableID) +
		"/streams/" + url.PathEscape(stream) + "?" + encodeQuery(url.Values{"api-version": {IngestionAPIVersion}})
	what := fmt.Sprintf("upload logs to stream %s", stream)
	for i, b := range batches {
		req := request{
			service: ServiceIngestion, what: what, method: http.MethodPost, url: target, scope: ScopeMonitor,
			body: b, contentType: contentTypeJSON,
			permission: RoleMonitoringPublisher, subject: "data collection rule " + dcrImmutableID,
			notFound: fmt.Sprintf("data collection rule %s or stream %s not found at %s", dcrImmutableID, stream, u.Host),
		}
		if len(b) > gzipAbove {
			z, err := gzipBytes(b)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			req.body, req.header = z, http.Header{"Content-Encoding": {"gzip"}}
		}
		if _, err := c.do(ctx, req); err != nil {
			if len(batches) > 1 {
				return fmt.Errorf("batch %d of %d: %w", i+1, len(batches), err)
			}
			return err
		}
	}
	return nil
}

// ingestBatches encodes records as JSON arrays of at most limit bytes.
func ingestBatches(records []map[string]any, limit int) ([][]byte, error) {
	var (
		out [][]byte
		cur = []byte{'['}
	)
	for i, r := range records {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("record %d cannot be encoded: %w", i, err)
		}
		if len(b)+2 > limit {
			return nil, fmt.Errorf("record %d is %d bytes, more than a call may carry (%d)", i, len(b), limit)
		}
		if len(cur) > 1 && len(cur)+1+len(b)+1 > limit {
			out = append(out, append(cur, ']'))
			cur = []byte{'['}
		}
		if len(cur) > 1 {
			cur = append(cur, ',')
		}
		cur = append(cur, b...)
	}
	if len(cur) > 1 {
		out = append(out, append(cur, ']'))
	}
	return out, nil
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	return buf.Bytes(), nil
}
