package web

func (s *Server) inboxRoutes() []route {
	return nil
}
