// Package team holds users, teams, memberships and roles, API keys, contact
// methods and categories.
package team

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
)

// Role is a member's role in a team.
type Role string

// The roles, from most to least powerful.
const (
	RoleAdmin     Role = "admin"
	RoleManager   Role = "manager"
	RoleResponder Role = "responder"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleManager || r == RoleResponder
}

// AtLeast reports whether r grants at least what min grants.
func (r Role) AtLeast(min Role) bool { return rank(r) >= rank(min) }

func rank(r Role) int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleManager:
		return 2
	case RoleResponder:
		return 1
	}
	return 0
}

// Scenarios an alert can be raised with.
const (
	ScenarioSingleAck = "single_ack"
	ScenarioMultiAck  = "multi_ack"
	ScenarioEmergency = "emergency"
)

// ValidScenario reports whether s names an alerting scenario.
func ValidScenario(s string) bool {
	return s == ScenarioSingleAck || s == ScenarioMultiAck || s == ScenarioEmergency
}

// Service reads and writes users and teams.
type Service struct {
	db    *store.DB
	clock clock.Clock
	cache cache
	// passwordCost is bcrypt's cost for new passwords; 0 is the default.
	passwordCost int
}

// SetPasswordCost sets bcrypt's cost for passwords set from now on. Tests
// that sign many users in lower it; servers keep the default.
func (s *Service) SetPasswordCost(cost int) { s.passwordCost = cost }

func (s *Service) hashPassword(password string) ([]byte, error) {
	cost := s.passwordCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	return bcrypt.GenerateFromPassword([]byte(password), cost)
}

// NewService returns a Service over db.
func NewService(db *store.DB, c clock.Clock) *Service { return &Service{db: db, clock: c} }

var secretEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newSecret returns a random URL-safe secret of 160 bits, prefixed.
func newSecret(prefix string) string {
	b := make([]byte, 20)
	rand.Read(b)
	return prefix + secretEncoding.EncodeToString(b)
}

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
