package web

func (s *Server) oidcRoutes() []route {
	return nil
}
