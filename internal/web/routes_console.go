package web

// consoleRoutes are the managers' and administrators' pages: teams and
// their members, escalation and categories, users, and accepting an
// invitation.
func (s *Server) consoleRoutes() []route {
	return []route{
		{"GET /console", s.signedIn(s.console)},
		{"POST /console/teams", s.adminOnly(s.consoleCreateTeam)},

		{"GET /teams/{id}", s.signedIn(s.consoleMembers)},
		{"POST /teams/{id}/invite", s.signedIn(s.consoleInvite)},
		{"POST /teams/{id}/members/{userId}/role", s.signedIn(s.consoleSetRole)},
		{"POST /teams/{id}/members/{userId}/remove", s.signedIn(s.consoleRemoveMember)},
		{"POST /teams/{id}/members/{userId}/invite", s.signedIn(s.consoleReinvite)},
		{"POST /teams/{id}/settings", s.signedIn(s.consoleTeamSettings)},
		{"POST /teams/{id}/delete", s.adminOnly(s.consoleDeleteTeam)},

		{"GET /teams/{id}/escalation", s.signedIn(s.consoleEscalation)},
		{"POST /teams/{id}/escalation", s.signedIn(s.consoleSaveAlertSettings)},
		{"POST /teams/{id}/notification-rules", s.signedIn(s.consoleSaveRules)},

		{"GET /teams/{id}/categories", s.signedIn(s.consoleCategories)},
		{"POST /teams/{id}/categories", s.signedIn(s.consoleCreateCategory)},
		{"POST /teams/{id}/categories/{categoryId}/delete", s.signedIn(s.consoleDeleteCategory)},
		{"POST /teams/{id}/categories/{categoryId}/{action}", s.signedIn(s.consoleMuteCategory)},

		{"GET /admin", s.adminOnly(s.consoleAdminHome)},
		{"GET /admin/users", s.adminOnly(s.consoleAdminUsers)},
		{"POST /admin/users", s.adminOnly(s.consoleAddUser)},
		{"POST /admin/users/{id}/admin", s.adminOnly(s.consoleSetAdmin)},
		{"POST /admin/users/{id}/invite", s.adminOnly(s.consoleInviteUser)},
		{"POST /admin/users/{id}/delete", s.adminOnly(s.consoleDeleteUser)},

		{"GET /invite/{token}", s.public(s.inviteForm)},
		{"POST /invite/{token}", s.public(s.inviteAccept)},
	}
}
