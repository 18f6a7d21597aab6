package web

func (s *Server) consoleRoutes() []route {
	return nil
}
