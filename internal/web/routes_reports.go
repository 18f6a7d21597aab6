package web

func (s *Server) reportRoutes() []route {
	return nil
}
