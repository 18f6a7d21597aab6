package web

import "net/http"

// route is one entry of the web app's route table.
type route struct {
	pattern string // "METHOD /path", as http.ServeMux takes it
	handler http.Handler
}

// routes lists every page. Each area keeps its own list next to its
// handlers.
func (s *Server) routes() []route {
	var out []route
	for _, area := range [][]route{
		s.assetRoutes(),
		s.authRoutes(),
		s.oidcRoutes(),
		s.inboxRoutes(),
		s.meRoutes(),
		s.pwaRoutes(),
		s.consoleRoutes(),
		s.integrationRoutes(),
		s.plannerRoutes(),
		s.reportRoutes(),
	} {
		out = append(out, area...)
	}
	return out
}

func (s *Server) assetRoutes() []route {
	h := http.HandlerFunc(s.serveAsset)
	out := []route{{"GET /sw.js", h}, {"GET /manifest.webmanifest", h}, {"GET /assets/", h}}
	return out
}
