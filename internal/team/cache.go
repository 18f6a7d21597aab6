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
	gen      uint64 // bumped by reset, so a look-up racing a change keeps nothing
}

type cached[T any] struct {
	v       T
	expires time.Time
}

func (c *cache) reset() {
	c.mu.Lock()
	c.bySecret, c.cats = nil, nil
	c.gen++
	c.mu.Unlock()
}

// cachedLookup returns m[key] while it is fresh, else load()'s result, which
// it keeps unless load fails. Failures are not kept: an unknown secret must
// work as soon as its team is created.
func cachedLookup[T any](c *cache, m *map[string]cached[T], key string, now time.Time, load func() (T, error)) (T, error) {
	c.mu.Lock()
	e, ok := (*m)[key]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return v, nil // something changed while we read: do not keep it
	}
	if *m == nil || len(*m) > 10000 {
		*m = map[string]cached[T]{}
	}
	(*m)[key] = cached[T]{v, now.Add(cacheTTL)}
	return v, nil
}

// CachedTeamBySecret is TeamBySecret through the cache.
func (s *Service) CachedTeamBySecret(ctx context.Context, secret string) (Team, error) {
	return cachedLookup(&s.cache, &s.cache.bySecret, string(hashSecret(secret)), s.clock.Now(), func() (Team, error) {
		return s.TeamBySecret(ctx, secret)
	})
}

// CachedCategories is Categories through the cache.
func (s *Service) CachedCategories(ctx context.Context, teamID string) ([]Category, error) {
	return cachedLookup(&s.cache, &s.cache.cats, teamID, s.clock.Now(), func() ([]Category, error) {
		return s.Categories(ctx, s.db, teamID)
	})
}
