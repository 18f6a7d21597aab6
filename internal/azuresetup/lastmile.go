package azuresetup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ConnectorResult is the connector made on the lastmile server and its
// connection test.
type ConnectorResult struct {
	ID   string     `json:"id"`
	Test TestResult `json:"test"`
}

// TestResult is the server's answer to POST …/connectors/{id}/test.
type TestResult struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// Check is one check of the connection test.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// connectorTestBudget bounds the retries of a failing connection test:
// the credential was verified already, so a failure is seldom transient.
const connectorTestBudget = 2 * time.Minute

// errTestFailed: the connector was made but its test still fails.
var errTestFailed = errors.New("the connector's connection test failed")

// createConnector creates the connector on the lastmile server and runs
// its connection test (again, for a while, while Azure propagates).
func (r *runner) createConnector(ctx context.Context, settings map[string]any) (*ConnectorResult, error) {
	base := strings.TrimRight(r.cfg.LastmileURL, "/") + "/api/v1/teams/" + url.PathEscape(strings.TrimSpace(r.cfg.Team)) + "/connectors"
	body := map[string]any{"name": connectorName(r.cfg.Mode), "source": r.cfg.Mode, "settings": settings}
	var created struct {
		ID string `json:"id"`
	}
	if err := r.lastmile(ctx, http.MethodPost, base, body, &created); err != nil {
		return nil, fmt.Errorf("create the connector on %s: %w", r.cfg.LastmileURL, err)
	}
	res := &ConnectorResult{ID: created.ID}
	r.say("\nConnector %s created on %s; testing its connection.", created.ID, r.cfg.LastmileURL)
	err := r.awaitWithin(ctx, min(r.budget(), connectorTestBudget), "the connector's connection test to pass", func(err error) bool { return errors.Is(err, errTestFailed) },
		func(ctx context.Context) error {
			var t TestResult
			if err := r.lastmile(ctx, http.MethodPost, base+"/"+url.PathEscape(created.ID)+"/test", nil, &t); err != nil {
				return fmt.Errorf("test the connector: %w", err)
			}
			res.Test = t
			if !t.OK {
				return errTestFailed
			}
			return nil
		})
	if err != nil {
		return res, fmt.Errorf("connector %s was created, but: %w", created.ID, err)
	}
	return res, nil
}

// lastmile calls the lastmile server's REST API with the admin's key.
func (r *runner) lastmile(ctx context.Context, method, u string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.LastmileAPIKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := r.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("the lastmile server is unreachable: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read the lastmile server's answer: %w", err)
	}
	if res.StatusCode >= 300 {
		var e struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details string `json:"details"`
		}
		_ = json.Unmarshal(b, &e)
		msg := e.Message
		if e.Details != "" {
			msg += ": " + e.Details
		}
		if msg == "" {
			msg = strings.TrimSpace(string(b))
		}
		switch res.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("the API key was refused (%d): give a valid key with --lastmile-api-key or LASTMILE_API_KEY", res.StatusCode)
		case http.StatusForbidden:
			return fmt.Errorf("the API key's user may not manage this team's connectors (%d %s): use a team admin's key", res.StatusCode, msg)
		}
		return fmt.Errorf("the lastmile server answered %d: %s", res.StatusCode, msg)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("the lastmile server's answer is not readable: %w", err)
		}
	}
	return nil
}
