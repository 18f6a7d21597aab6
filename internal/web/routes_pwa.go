package web

// pwaRoutes are the installable app's: the offline page the service worker
// keeps, the list of what it caches, and push on this device. The manifest
// and the service worker themselves are assets (see assetRoutes).
func (s *Server) pwaRoutes() []route {
	return []route{
		{"GET /offline", s.offlinePage()},
		{"GET /pwa/shell.json", s.shellList()},
		{"POST /push/subscribe", s.signedIn(s.pushSubscribe)},
		{"POST /push/status", s.signedIn(s.pushStatus)},
		{"POST /push/test", s.signedIn(s.pushTest)},
		{"POST /push/unsubscribe", s.signedIn(s.pushUnsubscribe)},
	}
}
