package httpapi

import (
	"net/http"
)

// route is one entry of the route table. The table is the single list of
// what the server answers; a test checks the OpenAPI document against it.
type route struct {
	Method  string
	Pattern string
	Handler http.Handler
}

func (s *Server) routes() []route {
	h := func(method, pattern string, fn http.HandlerFunc) route {
		return route{Method: method, Pattern: pattern, Handler: fn}
	}
	return []route{
		// Health, for load balancers and orchestrators.
		h("GET", "/healthz", s.healthz),
		h("GET", "/readyz", s.readyz),
		h("GET", "/api/v1/openapi.json", s.openAPI),
		h("GET", "/metrics", s.metricsHandler),

		// SIGNL4-compatible inbound.
		h("POST", "/webhook/{secret}", s.webhook),
		h("POST", "/api/v2/events/{secret}", s.eventsV2),

		// Users, API keys, contact methods.
		h("GET", "/api/v1/users/me", s.authed(s.me)),
		h("GET", "/api/v1/users", s.admin(s.listUsers)),
		h("POST", "/api/v1/users", s.admin(s.createUser)),
		h("GET", "/api/v1/users/{id}", s.authed(s.getUser)),
		h("PATCH", "/api/v1/users/{id}", s.authed(s.updateUser)),
		h("DELETE", "/api/v1/users/{id}", s.admin(s.deleteUser)),
		h("GET", "/api/v1/users/{id}/api-keys", s.authed(s.listAPIKeys)),
		h("POST", "/api/v1/users/{id}/api-keys", s.authed(s.createAPIKey)),
		h("DELETE", "/api/v1/users/{id}/api-keys/{keyId}", s.authed(s.revokeAPIKey)),
		h("GET", "/api/v1/users/{id}/contact-methods", s.authed(s.listContactMethods)),
		h("POST", "/api/v1/users/{id}/contact-methods", s.authed(s.addContactMethod)),
		h("DELETE", "/api/v1/users/{id}/contact-methods/{methodId}", s.authed(s.deleteContactMethod)),
		h("POST", "/api/v1/users/{id}/contact-methods/{methodId}/send-code", s.authed(s.sendVerificationCode)),
		h("POST", "/api/v1/users/{id}/contact-methods/{methodId}/verify", s.authed(s.verifyContactMethod)),
		h("POST", "/api/v1/users/{id}/contact-methods/{methodId}/test", s.authed(s.testContactMethod)),

		// Channel providers (instance administrators), push keys, provider
		// callbacks and the action links in notifications.
		h("GET", "/api/v1/channels", s.admin(s.listChannels)),
		h("GET", "/api/v1/channels/{provider}", s.admin(s.getChannel)),
		h("PUT", "/api/v1/channels/{provider}", s.admin(s.putChannel)),
		h("POST", "/api/v1/channels/{provider}/check", s.admin(s.checkChannel)),
		h("POST", "/api/v1/channels/{provider}/test", s.admin(s.testChannel)),
		h("GET", "/api/v1/teams/{id}/outbound-webhooks", s.authed(s.listOutbound)),
		h("POST", "/api/v1/teams/{id}/outbound-webhooks", s.authed(s.createOutbound)),
		h("GET", "/api/v1/teams/{id}/outbound-webhooks/{webhookId}", s.authed(s.getOutbound)),
		h("PATCH", "/api/v1/teams/{id}/outbound-webhooks/{webhookId}", s.authed(s.updateOutbound)),
		h("DELETE", "/api/v1/teams/{id}/outbound-webhooks/{webhookId}", s.authed(s.deleteOutbound)),
		h("POST", "/api/v1/teams/{id}/outbound-webhooks/{webhookId}/rotate-secret", s.authed(s.rotateOutboundSecret)),
		h("POST", "/api/v1/teams/{id}/outbound-webhooks/{webhookId}/test", s.authed(s.testOutbound)),
		h("GET", "/api/v1/teams/{id}/outbound-webhooks/{webhookId}/deliveries", s.authed(s.listOutboundDeliveries)),
		h("GET", "/api/v1/teams/{id}/connectors", s.authed(s.listConnectors)),
		h("POST", "/api/v1/teams/{id}/connectors", s.authed(s.createConnector)),
		h("GET", "/api/v1/teams/{id}/connectors/{connectorId}", s.authed(s.getConnector)),
		h("PATCH", "/api/v1/teams/{id}/connectors/{connectorId}", s.authed(s.updateConnector)),
		h("DELETE", "/api/v1/teams/{id}/connectors/{connectorId}", s.authed(s.deleteConnector)),
		h("POST", "/api/v1/teams/{id}/connectors/{connectorId}/test", s.authed(s.testConnector)),
		h("POST", "/api/v1/teams/{id}/connectors/{connectorId}/poll", s.authed(s.pollConnector)),
		h("GET", "/api/v1/teams/{id}/connectors/{connectorId}/push", s.authed(s.getConnectorPush)),
		h("POST", "/api/v1/teams/{id}/connectors/{connectorId}/push-secret", s.authed(s.rotateConnectorPushSecret)),
		h("DELETE", "/api/v1/teams/{id}/connectors/{connectorId}/push-secret", s.authed(s.disableConnectorPush)),
		// Sentinel's push (a Logic App run by an automation rule): the
		// secret in the path is the only credential.
		h("POST", "/api/v1/connectors/push/{secret}", s.connectorPush),
		h("GET", "/api/v1/push/vapid-public-key", s.authed(s.vapidPublicKey)),
		h("POST", "/callbacks/{provider}/{path...}", s.callback),
		h("GET", "/actions/{token}", s.actionForm),
		h("POST", "/actions/{token}", s.actionDo),

		// Teams, members, categories.
		h("GET", "/api/v1/teams", s.authed(s.listTeams)),
		h("POST", "/api/v1/teams", s.admin(s.createTeam)),
		h("GET", "/api/v1/teams/{id}", s.authed(s.getTeam)),
		h("PATCH", "/api/v1/teams/{id}", s.authed(s.updateTeam)),
		h("DELETE", "/api/v1/teams/{id}", s.admin(s.deleteTeam)),
		h("POST", "/api/v1/teams/{id}/rotate-secret", s.authed(s.rotateSecret)),
		h("GET", "/api/v1/teams/{id}/members", s.authed(s.listMembers)),
		h("POST", "/api/v1/teams/{id}/members", s.authed(s.addMember)),
		h("PATCH", "/api/v1/teams/{id}/members/{userId}", s.authed(s.updateMember)),
		h("DELETE", "/api/v1/teams/{id}/members/{userId}", s.authed(s.removeMember)),
		h("GET", "/api/v1/teams/{id}/categories", s.authed(s.listCategories)),
		h("POST", "/api/v1/teams/{id}/categories", s.authed(s.createCategory)),
		h("DELETE", "/api/v1/teams/{id}/categories/{categoryId}", s.authed(s.deleteCategory)),
		h("POST", "/api/v1/teams/{id}/categories/{categoryId}/mute", s.authed(s.muteCategory)),
		h("DELETE", "/api/v1/teams/{id}/categories/{categoryId}/mute", s.authed(s.unmuteCategory)),

		// How alerts escalate and reach people.
		h("GET", "/api/v1/teams/{id}/alert-settings", s.authed(s.getAlertSettings)),
		h("PUT", "/api/v1/teams/{id}/alert-settings", s.authed(s.putAlertSettings)),
		h("GET", "/api/v1/teams/{id}/notification-rules", s.authed(s.getTeamRules)),
		h("PUT", "/api/v1/teams/{id}/notification-rules", s.authed(s.putTeamRules)),
		h("GET", "/api/v1/teams/{id}/members/{userId}/notification-rules", s.authed(s.memberRules)),
		h("GET", "/api/v1/users/{id}/notification-rules", s.authed(s.getUserRules)),
		h("PUT", "/api/v1/users/{id}/notification-rules", s.authed(s.putUserRules)),

		// Duty.
		h("GET", "/api/v1/teams/{id}/duty", s.authed(s.dutyStatus)),
		h("POST", "/api/v1/teams/{id}/duty/punch-in", s.authed(s.punchIn)),
		h("POST", "/api/v1/teams/{id}/duty/punch-out", s.authed(s.punchOut)),
		h("GET", "/api/v1/teams/{id}/shifts", s.authed(s.listShifts)),
		h("POST", "/api/v1/teams/{id}/shifts", s.authed(s.addShifts)),
		h("DELETE", "/api/v1/teams/{id}/shifts/{shiftId}", s.authed(s.deleteShift)),
		h("GET", "/api/v1/teams/{id}/rotations", s.authed(s.listRotations)),
		h("POST", "/api/v1/teams/{id}/rotations", s.authed(s.createRotation)),
		h("DELETE", "/api/v1/teams/{id}/rotations/{rotationId}", s.authed(s.endRotation)),
		h("GET", "/api/v1/teams/{id}/overrides", s.authed(s.listOverrides)),
		h("POST", "/api/v1/teams/{id}/overrides", s.authed(s.createOverride)),
		h("DELETE", "/api/v1/teams/{id}/overrides/{overrideId}", s.authed(s.deleteOverride)),
		h("GET", "/api/v1/teams/{id}/shift-report", s.authed(s.shiftReport)),

		// Alerts.
		h("GET", "/api/v1/alerts", s.authed(s.listAlerts)),
		h("POST", "/api/v1/alerts/acknowledge", s.authed(s.bulk("acknowledge"))),
		h("POST", "/api/v1/alerts/close", s.authed(s.bulk("close"))),
		h("GET", "/api/v1/alerts/{id}", s.authed(s.getAlert)),
		h("GET", "/api/v1/alerts/{id}/timeline", s.authed(s.alertTimeline)),
		h("POST", "/api/v1/alerts/{id}/acknowledge", s.authed(s.transition("acknowledge"))),
		h("POST", "/api/v1/alerts/{id}/undo-acknowledge", s.authed(s.transition("undo-acknowledge"))),
		h("POST", "/api/v1/alerts/{id}/close", s.authed(s.transition("close"))),
		h("POST", "/api/v1/alerts/{id}/undo-close", s.authed(s.transition("undo-close"))),
		h("POST", "/api/v1/alerts/{id}/annotate", s.authed(s.annotate)),
		h("POST", "/api/v1/alerts/{id}/escalate", s.authed(s.escalateNow)),
		h("GET", "/api/v1/alerts/{id}/attachments/{attachmentId}", s.authed(s.attachment)),

		// Inbound events as stored.
		h("GET", "/api/v1/events", s.authed(s.listEvents)),
		h("GET", "/api/v1/events/{id}", s.authed(s.getEvent)),
		h("GET", "/api/v1/events/{id}/attachments/{attachmentId}", s.authed(s.eventAttachment)),
	}
}
