package web

// meRoutes are the signed-in user's own pages: duty and profile.
func (s *Server) meRoutes() []route {
	return []route{
		{"GET /duty", s.signedIn(s.dutyPage)},
		{"POST /duty/{teamId}/punch-in", s.signedIn(s.dutyPunchIn)},
		{"POST /duty/{teamId}/punch-out", s.signedIn(s.dutyPunchOut)},
		{"GET /profile", s.signedIn(s.profilePage)},
		{"POST /profile", s.signedIn(s.profileSave)},
		{"POST /profile/password", s.signedIn(s.profilePassword)},
		{"POST /profile/contacts", s.signedIn(s.profileAddContact)},
		{"POST /profile/contacts/{id}/delete", s.signedIn(s.profileDeleteContact)},
		{"POST /profile/contacts/{id}/send-code", s.signedIn(s.profileSendCode)},
		{"POST /profile/contacts/{id}/verify", s.signedIn(s.profileVerify)},
		{"POST /profile/contacts/{id}/test", s.signedIn(s.profileTestContact)},
		{"POST /profile/rules", s.signedIn(s.profileRules)},
	}
}
