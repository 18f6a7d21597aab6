package team

import (
	"context"
	"sync"
	"time"
)

// cacheTTL bounds how long another instance's change to a team secret or
// category takes to reach this one. Changes made through this instance take
// effect at once.
const cacheTTL = 2 * time.Second

// cache keeps the two look-ups every inbound event makes, the team of a
// secret and the team's categories, off the database.
type cache struct {
	mu       sync.Mutex
	bySecret map[string]cached[Team]
	cats     map[string]cached[[]Category]
}

type cached[T any] struct {
	v       T
	expires time.Time
}

func (c *cache) reset() {
	c.mu.Lock()
	c.bySecret, c.cats = nil, nil
	c.mu.Unlock()
}

// CachedTeamBySecret is TeamBySecret through the cache. Unknown secrets are
// not cached, so a new team works at once.
func (s *Service) CachedTeamBySecret(ctx context.Context, secret string) (Team, error) {
	key := string(hashSecret(secret))
	now := s.clock.Now()
	s.cache.mu.Lock()
	e, ok := s.cache.bySecret[key]
	s.cache.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	t, err := s.TeamBySecret(ctx, secret)
	if err != nil {
		return Team{}, err
	}
	s.cache.mu.Lock()
	if s.cache.bySecret == nil || len(s.cache.bySecret) > 10000 {
		s.cache.bySecret = map[string]cached[Team]{}
	}
	s.cache.bySecret[key] = cached[Team]{t, now.Add(cacheTTL)}
	s.cache.mu.Unlock()
	return t, nil
}

// CachedCategories is Categories through the cache.
func (s *Service) CachedCategories(ctx context.Context, teamID string) ([]Category, error) {
	now := s.clock.Now()
	s.cache.mu.Lock()
	e, ok := s.cache.cats[teamID]
	s.cache.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	cs, err := s.Categories(ctx, s.db, teamID)
	if err != nil {
		return nil, err
	}
	s.cache.mu.Lock()
	if s.cache.cats == nil || len(s.cache.cats) > 10000 {
		s.cache.cats = map[string]cached[[]Category]{}
	}
	s.cache.cats[teamID] = cached[[]Category]{cs, now.Add(cacheTTL)}
	s.cache.mu.Unlock()
	return cs, nil
}
