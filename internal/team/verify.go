package team

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

const (
	// verifyLifetime is how long a verification code works.
	verifyLifetime = 10 * time.Minute
	// verifyResendAfter keeps a member (or someone with their session)
	// from flooding a number with codes.
	verifyResendAfter = 30 * time.Second
	// verifyAttempts bounds guesses: six digits and five tries leave a
	// guesser one chance in 200,000.
	verifyAttempts = 5
)

// StartVerification makes a new code for a contact method and returns it
// for sending; only its hash is stored.
func (s *Service) StartVerification(ctx context.Context, userID, id string) (ContactMethod, string, error) {
	c, err := s.ContactMethod(ctx, userID, id)
	if err != nil {
		return ContactMethod{}, "", err
	}
	if c.Verified {
		return c, "", apperr.New(apperr.Conflict, "this %s address is already verified", c.Channel)
	}
	now := s.clock.Now()
	var expires *int64
	if err := s.db.QueryRow(ctx, `SELECT verify_expires_at FROM contact_methods WHERE id = ?`, id).Scan(&expires); err != nil {
		return ContactMethod{}, "", fmt.Errorf("read verification: %w", err)
	}
	if expires != nil {
		sentAt := store.FromMicros(*expires).Add(-verifyLifetime)
		if wait := sentAt.Add(verifyResendAfter).Sub(now); wait > 0 {
			return ContactMethod{}, "", apperr.New(apperr.Conflict, "a code was sent moments ago; wait %d seconds before asking for another", int(math.Ceil(wait.Seconds())))
		}
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return ContactMethod{}, "", err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	if _, err := s.db.Exec(ctx, `UPDATE contact_methods SET verify_hash = ?, verify_expires_at = ?, verify_attempts = 0 WHERE id = ?`,
		hashCode(id, code), store.Micros(now.Add(verifyLifetime)), id); err != nil {
		return ContactMethod{}, "", fmt.Errorf("store verification: %w", err)
	}
	return c, code, nil
}

// CancelVerification forgets a code that could not be sent, so the member
// may ask again at once.
func (s *Service) CancelVerification(ctx context.Context, userID, id string) error {
	_, err := s.db.Exec(ctx, `UPDATE contact_methods SET verify_hash = '', verify_expires_at = NULL, verify_attempts = 0 WHERE id = ? AND user_id = ?`, id, userID)
	return err
}

// Verify checks a code the member typed and marks the address verified.
func (s *Service) Verify(ctx context.Context, userID, id, code string) (ContactMethod, error) {
	c, err := s.ContactMethod(ctx, userID, id)
	if err != nil {
		return ContactMethod{}, err
	}
	if c.Verified {
		return c, nil
	}
	var hash string
	var expires *int64
	var attempts int
	if err := s.db.QueryRow(ctx, `SELECT verify_hash, verify_expires_at, verify_attempts FROM contact_methods WHERE id = ?`, id).Scan(&hash, &expires, &attempts); err != nil {
		return ContactMethod{}, fmt.Errorf("read verification: %w", err)
	}
	now := s.clock.Now()
	switch {
	case hash == "" || expires == nil:
		return ContactMethod{}, apperr.New(apperr.Conflict, "no code was sent to this address; ask for one first")
	case !now.Before(store.FromMicros(*expires)):
		return ContactMethod{}, apperr.New(apperr.Conflict, "the code has expired; ask for a new one")
	case attempts >= verifyAttempts:
		return ContactMethod{}, apperr.New(apperr.Conflict, "too many wrong codes; ask for a new one")
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(hashCode(id, code))) != 1 {
		if _, err := s.db.Exec(ctx, `UPDATE contact_methods SET verify_attempts = verify_attempts + 1 WHERE id = ?`, id); err != nil {
			return ContactMethod{}, err
		}
		return ContactMethod{}, apperr.New(apperr.Invalid, "the code is not right; %d tries left", verifyAttempts-attempts-1)
	}
	return s.MarkVerified(ctx, userID, id)
}

// MarkVerified marks an address verified without a code: for instance
// administrators provisioning addresses they have confirmed another way.
func (s *Service) MarkVerified(ctx context.Context, userID, id string) (ContactMethod, error) {
	if _, err := s.db.Exec(ctx, `UPDATE contact_methods SET verified_at = ?, verify_hash = '', verify_expires_at = NULL, verify_attempts = 0
		WHERE id = ? AND user_id = ?`, store.Micros(s.clock.Now()), id, userID); err != nil {
		return ContactMethod{}, fmt.Errorf("mark verified: %w", err)
	}
	return s.ContactMethod(ctx, userID, id)
}

func hashCode(id, code string) string {
	h := sha256.Sum256([]byte(id + ":" + code))
	return hex.EncodeToString(h[:])
}
