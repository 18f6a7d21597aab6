package team

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The hash compared for unknown addresses is a real one at the default
// cost, or the equal timing it exists for would be a quick error instead.
func TestTimingHashCostsAsMuchAsAPassword(t *testing.T) {
	cost, err := bcrypt.Cost([]byte(timingHash))
	if err != nil || cost != bcrypt.DefaultCost {
		t.Fatalf("timing hash cost %d, %v; want a valid hash of cost %d", cost, err, bcrypt.DefaultCost)
	}
}
