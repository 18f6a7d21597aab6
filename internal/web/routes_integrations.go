package web

func (s *Server) integrationRoutes() []route {
	return nil
}
