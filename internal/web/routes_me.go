package web

func (s *Server) meRoutes() []route {
	return nil
}
