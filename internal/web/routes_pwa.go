package web

func (s *Server) pwaRoutes() []route {
	return nil
}
