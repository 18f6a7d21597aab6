package team

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// User is a person who can sign in and be a member of teams.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	IsAdmin   bool      `json:"isAdmin"`
	TimeZone  string    `json:"timeZone"`
	CreatedAt time.Time `json:"createdAt"`
}

// NewUser is what creating a user takes.
type NewUser struct {
	Email    string
	Name     string
	IsAdmin  bool
	TimeZone string
	Password string
}

// UserPatch changes the fields that are set.
type UserPatch struct {
	Name     *string `json:"name"`
	IsAdmin  *bool   `json:"isAdmin"`
	TimeZone *string `json:"timeZone"`
	Password *string `json:"password"`
}

func validateTimeZone(tz string) error {
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
		return apperr.New(apperr.Invalid, "time zone %q is not an IANA time zone name (for example Europe/Berlin)", tz)
	}
	return nil
}

func validatePassword(p string) error {
	if len(p) < 12 {
		return apperr.New(apperr.Invalid, "password must have at least 12 characters")
	}
	if len(p) > 72 {
		return apperr.New(apperr.Invalid, "password must have at most 72 bytes")
	}
	return nil
}

const userCols = `id, email, name, is_admin, time_zone, created_at`

// scanUser reads userCols, then any extra columns into extra.
func scanUser(row interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var created int64
	err := row.Scan(append([]any{&u.ID, &u.Email, &u.Name, &u.IsAdmin, &u.TimeZone, &created}, extra...)...)
	u.CreatedAt = store.FromMicros(created)
	return u, err
}

// CreateUser adds a user.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	email := normEmail(nu.Email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return User{}, apperr.New(apperr.Invalid, "email %q is not a valid address", nu.Email)
	}
	if nu.TimeZone == "" {
		nu.TimeZone = "UTC"
	}
	if err := validateTimeZone(nu.TimeZone); err != nil {
		return User{}, err
	}
	hash := ""
	if nu.Password != "" {
		if err := validatePassword(nu.Password); err != nil {
			return User{}, err
		}
		b, err := s.hashPassword(nu.Password)
		if err != nil {
			return User{}, fmt.Errorf("hash password: %w", err)
		}
		hash = string(b)
	}
	u := User{ID: store.NewID(), Email: email, Name: strings.TrimSpace(nu.Name), IsAdmin: nu.IsAdmin, TimeZone: nu.TimeZone, CreatedAt: s.clock.Now()}
	_, err := s.db.Exec(ctx, `INSERT INTO users (id, email, name, is_admin, time_zone, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Name, u.IsAdmin, u.TimeZone, hash, store.Micros(u.CreatedAt))
	if store.IsUniqueViolation(err) {
		return User{}, apperr.New(apperr.Conflict, "a user with email %s already exists", email)
	}
	if err != nil {
		return User{}, fmt.Errorf("insert user: %w", err)
	}
	return u, nil
}

// User returns the user with id.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return User{}, store.NotFound(err, "user "+id)
	}
	return u, nil
}

// UserByEmail returns the user with that email address.
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE email = ?`, normEmail(email)))
	if err != nil {
		return User{}, store.NotFound(err, "user "+email)
	}
	return u, nil
}

// UserByRef finds a user by id or email address.
func (s *Service) UserByRef(ctx context.Context, ref string) (User, error) {
	if strings.Contains(ref, "@") {
		return s.UserByEmail(ctx, ref)
	}
	return s.User(ctx, ref)
}

// Users lists all users by email.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("scan user: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers returns how many users exist.
func (s *Service) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// UpdateUser applies p to the user with id.
func (s *Service) UpdateUser(ctx context.Context, id string, p UserPatch) (User, error) {
	u, err := s.User(ctx, id)
	if err != nil {
		return User{}, err
	}
	if p.Password != nil {
		if err := validatePassword(*p.Password); err != nil {
			return User{}, err
		}
	}
	if p.Name != nil {
		u.Name = strings.TrimSpace(*p.Name)
	}
	if p.IsAdmin != nil {
		u.IsAdmin = *p.IsAdmin
	}
	if p.TimeZone != nil {
		if err := validateTimeZone(*p.TimeZone); err != nil {
			return User{}, err
		}
		u.TimeZone = *p.TimeZone
	}
	if _, err := s.db.Exec(ctx, `UPDATE users SET name = ?, is_admin = ?, time_zone = ? WHERE id = ?`, u.Name, u.IsAdmin, u.TimeZone, id); err != nil {
		return User{}, fmt.Errorf("update user: %w", err)
	}
	if p.Password != nil {
		if err := s.SetPassword(ctx, id, *p.Password); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// SetPassword sets the user's sign-in password.
func (s *Service) SetPassword(ctx context.Context, id, password string) error {
	if err := validatePassword(password); err != nil {
		return err
	}
	b, err := s.hashPassword(password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	res, err := s.db.Exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, string(b), id)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.NotFound, "user %s not found", id)
	}
	return nil
}

// CheckPassword returns the user if email and password match.
func (s *Service) CheckPassword(ctx context.Context, email, password string) (User, error) {
	var hash string
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userCols+`, password_hash FROM users WHERE email = ?`, normEmail(email)), &hash)
	if err != nil || hash == "" {
		// As slow as a wrong password, so that the time of the answer
		// does not tell which addresses have an account.
		_ = bcrypt.CompareHashAndPassword([]byte(timingHash), []byte(password))
		return User{}, apperr.New(apperr.Unauthorized, "wrong email or password")
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return User{}, apperr.New(apperr.Unauthorized, "wrong email or password")
	}
	return u, nil
}

// timingHash is a bcrypt hash at the default cost of a password no one
// has, compared when an address has no password, for equal timing.
const timingHash = "$2a$10$Mso4Cn9.2VcKtyQ1oy5j1OfOvxws86/nQh.4FsUeZEE1lJNjf3HPC"

// DeleteUser removes a user, their memberships, keys and contact methods.
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	res, err := s.db.Exec(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.NotFound, "user %s not found", id)
	}
	return nil
}
