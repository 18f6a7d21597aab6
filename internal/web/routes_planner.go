package web

func (s *Server) plannerRoutes() []route {
	return nil
}
