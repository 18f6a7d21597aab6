package session_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
	"github.com/lastmile/lastmile/internal/web/session"
)

func TestSessionsSlideExpireAndEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := clock.NewFake(time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC))
		teams := team.NewService(db, c)
		u, err := teams.CreateUser(ctx, team.NewUser{Email: "ann@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		s := session.New(db, c, false)
		ss, err := s.Create(ctx, u.ID, "password", "Firefox")
		if err != nil {
			t.Fatal(err)
		}
		// Used every 20 days, a session lives on, up to its maximum age.
		for i := 0; i < 4; i++ {
			c.Advance(20 * 24 * time.Hour)
			if _, err := s.Lookup(ctx, ss.ID); err != nil {
				t.Fatalf("day %d: a session used every 20 days ended: %v", (i+1)*20, err)
			}
		}
		c.Advance(11 * 24 * time.Hour) // day 91
		if _, err := s.Lookup(ctx, ss.ID); err == nil {
			t.Fatal("a session outlived its maximum age of 90 days")
		}
		// Unused for longer than the idle time, a session ends.
		idle, _ := s.Create(ctx, u.ID, "password", "Chrome")
		c.Advance(session.Idle)
		if _, err := s.Lookup(ctx, idle.ID); err == nil {
			t.Fatal("a session unused for the idle time still works")
		}
		// Sign out everywhere ends them all; only the hash is stored.
		a, _ := s.Create(ctx, u.ID, "password", "A")
		b, _ := s.Create(ctx, u.ID, "oidc", "B")
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM web_sessions WHERE id_hash = ?`, []byte(a.ID)).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the raw session id is stored: %d %v", n, err)
		}
		if list, err := s.List(ctx, u.ID); err != nil || len(list) != 2 {
			t.Fatalf("list: %d sessions, %v; want 2", len(list), err)
		}
		if n, err := s.DeleteAll(ctx, u.ID); err != nil || n != 2 {
			t.Fatalf("DeleteAll ended %d, %v", n, err)
		}
		for _, x := range []session.Session{a, b} {
			if _, err := s.Lookup(ctx, x.ID); err == nil {
				t.Fatal("a session survived DeleteAll")
			}
		}
		if _, err := s.Purge(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCookieIsHardenedOverHTTPS(t *testing.T) {
	s := session.New(nil, clock.Real{}, true)
	w := httptest.NewRecorder()
	s.SetCookie(w, session.Session{ID: "x"})
	h := w.Header().Get("Set-Cookie")
	for _, want := range []string{"__Host-lastmile_session=x", "Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age="} {
		if !strings.Contains(h, want) {
			t.Errorf("Set-Cookie %q lacks %q", h, want)
		}
	}
}

func TestCSRFCheck(t *testing.T) {
	ss := session.Session{CSRF: "token-1"}
	for _, tc := range []struct {
		header, form string
		ok           bool
	}{{"token-1", "", true}, {"", "token-1", true}, {"", "", false}, {"token-2", "", false}, {"", "token-", false}} {
		r := httptest.NewRequest("POST", "/x", strings.NewReader("_csrf="+tc.form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.header != "" {
			r.Header.Set("X-CSRF-Token", tc.header)
		}
		if err := session.CheckCSRF(r, ss); (err == nil) != tc.ok {
			t.Errorf("header %q form %q: err %v, want ok=%v", tc.header, tc.form, err, tc.ok)
		}
	}
}
