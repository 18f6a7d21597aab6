package web

import (
	"context"
	"fmt"
)

// consoleCounts returns, by team id, the number of members and of alerts
// not yet closed: two grouped queries for every team at once, so the
// console costs the same with one team or fifty.
func (s *Server) consoleCounts(ctx context.Context) (members, open map[string]int, err error) {
	if members, err = s.countByTeam(ctx, `SELECT team_id, COUNT(*) FROM members GROUP BY team_id`); err != nil {
		return nil, nil, err
	}
	if open, err = s.countByTeam(ctx, `SELECT team_id, COUNT(*) FROM alerts WHERE status <> 'closed' GROUP BY team_id`); err != nil {
		return nil, nil, err
	}
	return members, open, nil
}

func (s *Server) countByTeam(ctx context.Context, q string) (map[string]int, error) {
	rows, err := s.cfg.DB.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("count by team: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("scan count: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}
