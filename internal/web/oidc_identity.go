package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// idClaims are the ID token claims lastmile reads besides those go-oidc
// checks.
type idClaims struct {
	Sub               string   `json:"sub"`
	Email             string   `json:"email"`
	EmailVerified     flexBool `json:"email_verified"`
	PreferredUsername string   `json:"preferred_username"`
	Name              string   `json:"name"`
}

// flexBool reads true or "true": some providers send email_verified as a
// string.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		*f = flexBool(x)
	case string:
		*f = flexBool(strings.EqualFold(x, "true"))
	}
	return nil
}

// vouchedEmails are the addresses the provider vouches for, most trusted
// first. Any provider vouches with email_verified; Entra ID's tokens carry
// no such claim, but a tenant's addresses and user names are managed by
// its administrators, and only tenant-specific issuers are accepted (see
// OIDCConfig.Validate).
func vouchedEmails(entra bool, c idClaims) []string {
	var out []string
	add := func(e string) {
		e = strings.TrimSpace(e)
		if e == "" || !strings.Contains(e, "@") {
			return
		}
		for _, o := range out {
			if strings.EqualFold(o, e) {
				return
			}
		}
		out = append(out, e)
	}
	if c.EmailVerified {
		add(c.Email)
	}
	if entra {
		add(c.Email)
		add(c.PreferredUsername)
	}
	return out
}

// oidcUser finds who signed in: by the provider's subject if it was seen
// before, otherwise by a vouched address, and then records the subject so
// that a later change of address at the provider does not matter. A
// refusal is an apperr whose message is for the person signing in.
func (s *Server) oidcUser(ctx context.Context, meta *oidcMeta, c idClaims) (team.User, error) {
	issuer := s.oidc.cfg.Issuer
	emails := vouchedEmails(meta.entra, c)
	var userID, stored string
	err := s.cfg.DB.QueryRow(ctx, `SELECT user_id, email FROM oidc_identities WHERE issuer = ? AND subject = ?`,
		issuer, c.Sub).Scan(&userID, &stored)
	switch {
	case err == nil:
		u, err := s.cfg.Teams.User(ctx, userID)
		if err != nil {
			return team.User{}, err
		}
		if len(emails) > 0 && emails[0] != stored {
			// Kept for administrators' eyes only; sign-in goes by subject.
			if _, err := s.cfg.DB.Exec(ctx, `UPDATE oidc_identities SET email = ? WHERE issuer = ? AND subject = ?`,
				emails[0], issuer, c.Sub); err != nil {
				return team.User{}, fmt.Errorf("update oidc identity: %w", err)
			}
		}
		return u, nil
	case !errors.Is(err, sql.ErrNoRows):
		return team.User{}, fmt.Errorf("look up oidc identity: %w", err)
	}
	if len(emails) == 0 {
		return team.User{}, apperr.New(apperr.Unauthorized,
			"lastmile cannot tell who you are: %s did not confirm an e-mail address for your account. Ask an administrator.", s.oidc.name())
	}
	for _, email := range emails {
		u, err := s.cfg.Teams.UserByEmail(ctx, email)
		if errors.Is(err, store.ErrNotFound) || apperr.KindOf(err) == apperr.NotFound {
			continue
		}
		if err != nil {
			return team.User{}, err
		}
		return u, s.linkIdentity(ctx, issuer, c.Sub, u, email)
	}
	return team.User{}, apperr.New(apperr.Unauthorized, "No lastmile account for %s. Ask an administrator to invite you.", emails[0])
}

// linkIdentity records the subject for the user found by address. A user
// already linked to another subject of this provider is not linked again:
// the address has passed to someone else there, or is claimed twice.
func (s *Server) linkIdentity(ctx context.Context, issuer, subject string, u team.User, email string) error {
	var other string
	err := s.cfg.DB.QueryRow(ctx, `SELECT subject FROM oidc_identities WHERE issuer = ? AND user_id = ?`, issuer, u.ID).Scan(&other)
	switch {
	case err == nil:
		s.cfg.Log.Warn("single sign-on refused: the account is linked to another subject", "user_id", u.ID, "email", email)
		return apperr.New(apperr.Unauthorized,
			"The lastmile account for %s is already linked to a different account at %s. Ask an administrator.", u.Email, s.oidc.name())
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("look up oidc identities of user: %w", err)
	}
	_, err = s.cfg.DB.Exec(ctx, `INSERT INTO oidc_identities (issuer, subject, user_id, email, created_at) VALUES (?, ?, ?, ?, ?)`,
		issuer, subject, u.ID, email, store.Micros(s.cfg.Clock.Now()))
	if err != nil && !store.IsUniqueViolation(err) {
		// A unique violation is the same first sign-in twice at once: the
		// other one recorded it.
		return fmt.Errorf("record oidc identity: %w", err)
	}
	s.cfg.Log.Info("single sign-on identity linked", "user_id", u.ID, "email", email)
	return nil
}
