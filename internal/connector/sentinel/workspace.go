package sentinel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// WorkspaceInfo is what ARM says of the Log Analytics workspace.
type WorkspaceInfo struct {
	ID                string // ARM resource id
	Name              string
	Location          string
	CustomerID        string // the workspace id Log Analytics queries use
	ProvisioningState string
	SKU               string
	RetentionInDays   int
}

// Workspace reads the configured workspace from ARM; its CustomerID is
// the workspace id for queries.
func (c *Client) Workspace(ctx context.Context) (WorkspaceInfo, error) {
	if err := c.cfg.ValidateSentinel(); err != nil {
		return WorkspaceInfo{}, err
	}
	req := request{
		service: ServiceARM, what: "read workspace " + c.cfg.WorkspaceName, method: http.MethodGet,
		url: withAPIVersion(c.workspacePath(), WorkspaceAPIVersion, nil), scope: ScopeResourceManager, idempotent: true,
		permission: RoleReader, subject: "workspace " + c.cfg.WorkspaceName, notFound: c.workspaceNotFound(),
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return WorkspaceInfo{}, err
	}
	var body struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Location   string `json:"location"`
		Properties struct {
			CustomerID        string      `json:"customerId"`
			ProvisioningState string      `json:"provisioningState"`
			RetentionInDays   json.Number `json:"retentionInDays"`
			SKU               struct {
				Name string `json:"name"`
			} `json:"sku"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return WorkspaceInfo{}, fmt.Errorf("read workspace: ARM's answer is not a workspace: %w", err)
	}
	days, _ := strconv.Atoi(body.Properties.RetentionInDays.String())
	return WorkspaceInfo{
		ID: body.ID, Name: body.Name, Location: body.Location, CustomerID: body.Properties.CustomerID,
		ProvisioningState: body.Properties.ProvisioningState, SKU: body.Properties.SKU.Name, RetentionInDays: days,
	}, nil
}
