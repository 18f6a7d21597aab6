package web

import "net/http"

// inboxRoutes are the responder's inbox, the alert page, its actions and
// attachments, and the live-update streams of both.
func (s *Server) inboxRoutes() []route {
	return []route{
		{"GET /inbox", s.signedIn(s.inbox)},
		// Messages that bundle several alerts link to the list of them.
		{"GET /alerts", http.RedirectHandler("/inbox", http.StatusSeeOther)},
		{"GET /inbox/stream", s.signedIn(s.inboxStream)},
		{"GET /alerts/{id}", s.signedIn(s.alertPage)},
		{"GET /alerts/{id}/stream", s.signedIn(s.alertStream)},
		{"GET /alerts/{id}/attachments/{attachmentId}", s.signedIn(s.alertAttachment)},
		{"POST /alerts/{id}/{action}", s.signedIn(s.alertAction)},
	}
}
