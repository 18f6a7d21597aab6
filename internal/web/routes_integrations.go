package web

// integrationRoutes are a team's inbound doors and outbound webhooks, its
// connectors, and the instance's channel providers.
func (s *Server) integrationRoutes() []route {
	const in = "/teams/{id}/integrations"
	const ob = in + "/outbound/{webhookId}"
	const co = "/teams/{id}/connectors"
	const one = co + "/{connectorId}"
	return []route{
		{"GET " + in, s.signedIn(s.integrationsPage)},
		{"POST " + in + "/rotate-secret", s.signedIn(s.integrationsRotate)},
		{"POST " + in + "/api-keys", s.signedIn(s.integrationsCreateKey)},
		{"POST " + in + "/api-keys/{keyId}/revoke", s.signedIn(s.integrationsRevokeKey)},
		{"POST " + in + "/outbound", s.signedIn(s.integrationsCreateOutbound)},
		{"POST " + ob + "/{action}", s.signedIn(s.integrationsOutboundAction)},

		{"GET " + co, s.signedIn(s.connectorsPage)},
		{"GET " + co + "/new", s.signedIn(s.connectorNewForm)},
		{"POST " + co, s.signedIn(s.connectorCreate)},
		{"GET " + one, s.signedIn(s.connectorPage)},
		{"GET " + one + "/edit", s.signedIn(s.connectorEditForm)},
		{"POST " + one + "/edit", s.signedIn(s.connectorUpdate)},
		{"POST " + one + "/{action}", s.signedIn(s.connectorAction)},

		{"GET /admin/channels", s.adminOnly(s.channelsPage)},
		{"POST /admin/channels/{provider}", s.adminOnly(s.channelsSave)},
		{"POST /admin/channels/{provider}/check", s.adminOnly(s.channelsCheck)},
		{"POST /admin/channels/{provider}/test", s.adminOnly(s.channelsTest)},
	}
}
