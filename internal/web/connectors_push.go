package web

import (
	"net/http"
)

// connectorPushPath is where the REST API takes pushed incidents
// (internal/httpapi/connector_push.go); the secret follows it.
const connectorPushPath = "/api/v1/connectors/push/"

// connectorPageWithPushURL renders the connector's page with a push URL
// made just now, which no later visit can show again.
func (s *Server) connectorPageWithPushURL(w http.ResponseWriter, r *http.Request, v *view, pushURL string) error {
	return s.connectorPageData(w, r, v, func(d *connectorData) { d.PushURL = pushURL })
}
