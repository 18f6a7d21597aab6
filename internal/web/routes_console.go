package web

// consoleRoutes are the managers' and administrators' pages: teams and
// their members, escalation and categories, users, and accepting an
// invitation.
func (s *Server) consoleRoutes() []route {
	return []route{
		{"GET /console", s.signedIn(s.console)},
		{"POST /console/teams", s.adminOnly(s.consoleCreateTeam)},

		{"GET /teams/{id}", s.signedIn(s.teamMembers)},
		{"POST /teams/{id}/invite", s.signedIn(s.teamInvite)},
		{"POST /teams/{id}/members/{userId}/role", s.signedIn(s.teamSetRole)},
		{"POST /teams/{id}/members/{userId}/remove", s.signedIn(s.teamRemoveMember)},
		{"POST /teams/{id}/members/{userId}/invite", s.signedIn(s.teamReinvite)},
		{"POST /teams/{id}/settings", s.signedIn(s.teamSettings)},
		{"POST /teams/{id}/delete", s.adminOnly(s.teamDelete)},

		{"GET /teams/{id}/escalation", s.signedIn(s.teamEscalation)},
		{"POST /teams/{id}/escalation", s.signedIn(s.teamSaveAlertSettings)},
		{"POST /teams/{id}/notification-rules", s.signedIn(s.teamSaveRules)},

		{"GET /teams/{id}/categories", s.signedIn(s.teamCategories)},
		{"POST /teams/{id}/categories", s.signedIn(s.teamCreateCategory)},
		{"POST /teams/{id}/categories/{categoryId}/delete", s.signedIn(s.teamDeleteCategory)},

		{"GET /admin", s.adminOnly(s.adminHome)},
		{"GET /admin/users", s.adminOnly(s.adminUsers)},
		{"POST /admin/users", s.adminOnly(s.adminAddUser)},
		{"POST /admin/users/{id}/admin", s.adminOnly(s.adminSetAdmin)},
		{"POST /admin/users/{id}/invite", s.adminOnly(s.adminInviteUser)},
		{"POST /admin/users/{id}/delete", s.adminOnly(s.adminDeleteUser)},

		{"GET /invite/{token}", s.public(s.inviteForm)},
		{"POST /invite/{token}", s.public(s.inviteAccept)},
	}
}
