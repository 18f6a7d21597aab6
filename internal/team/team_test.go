package team_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newService(db *store.DB) (*team.Service, *clock.Fake) {
	c := clock.NewFake(start)
	return team.NewService(db, c), c
}

// wantKind fails the test unless err has kind k.
func wantKind(t *testing.T, what string, err error, k apperr.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %s", what, k)
	}
	if got := apperr.KindOf(err); got != k {
		t.Fatalf("%s: error kind = %s (%v), want %s", what, got, err, k)
	}
}

func mustUser(t *testing.T, s *team.Service, email string) team.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), team.NewUser{Email: email, Name: strings.Split(email, "@")[0]})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func mustTeam(t *testing.T, s *team.Service, name string) (team.Team, string) {
	t.Helper()
	tm, secret, err := s.CreateTeam(context.Background(), name, "")
	if err != nil {
		t.Fatalf("CreateTeam(%s): %v", name, err)
	}
	return tm, secret
}

func sameUser(t *testing.T, what string, got, want team.User) {
	t.Helper()
	if got.ID != want.ID || got.Email != want.Email || got.Name != want.Name || got.IsAdmin != want.IsAdmin ||
		got.TimeZone != want.TimeZone || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("%s = %+v, want %+v", what, got, want)
	}
}

func TestUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(db)

		u, err := s.CreateUser(ctx, team.NewUser{Email: "  Alice@Example.COM ", Name: " Alice ", TimeZone: "Europe/Berlin"})
		if err != nil {
			t.Fatal(err)
		}
		want := team.User{ID: u.ID, Email: "alice@example.com", Name: "Alice", TimeZone: "Europe/Berlin", CreatedAt: start}
		sameUser(t, "CreateUser", u, want)
		if u.ID == "" {
			t.Fatal("CreateUser returned an empty id")
		}

		got, err := s.User(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameUser(t, "User", got, want)
		for _, ref := range []string{u.ID, "ALICE@example.com", " alice@example.com"} {
			got, err := s.UserByRef(ctx, ref)
			if err != nil {
				t.Fatalf("UserByRef(%q): %v", ref, err)
			}
			sameUser(t, "UserByRef("+ref+")", got, want)
		}
		_, err = s.User(ctx, "no-such-id")
		wantKind(t, "User(unknown)", err, apperr.NotFound)
		_, err = s.UserByEmail(ctx, "nobody@example.com")
		wantKind(t, "UserByEmail(unknown)", err, apperr.NotFound)

		// The time zone defaults to UTC.
		clk.Advance(time.Second)
		bob, err := s.CreateUser(ctx, team.NewUser{Email: "bob@example.com", IsAdmin: true})
		if err != nil {
			t.Fatal(err)
		}
		if bob.TimeZone != "UTC" || !bob.IsAdmin || !bob.CreatedAt.Equal(start.Add(time.Second)) {
			t.Fatalf("CreateUser(bob) = %+v, want time zone UTC, admin, created a second later", bob)
		}

		_, err = s.CreateUser(ctx, team.NewUser{Email: "ALICE@example.com"})
		wantKind(t, "CreateUser(duplicate email in other case)", err, apperr.Conflict)

		for _, email := range []string{"", "not-an-email", "Alice <alice2@example.com>", "a@b@c", "two words@example.com"} {
			_, err := s.CreateUser(ctx, team.NewUser{Email: email})
			wantKind(t, "CreateUser(email "+email+")", err, apperr.Invalid)
		}
		for _, tz := range []string{"Mars/Olympus_Mons", "Local", "+02:00"} {
			_, err := s.CreateUser(ctx, team.NewUser{Email: "tz@example.com", TimeZone: tz})
			wantKind(t, "CreateUser(time zone "+tz+")", err, apperr.Invalid)
		}

		us, err := s.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(us) != 2 || us[0].Email != "alice@example.com" || us[1].Email != "bob@example.com" {
			t.Fatalf("Users = %+v, want alice and bob by email", us)
		}
		if n, err := s.CountUsers(ctx); err != nil || n != 2 {
			t.Fatalf("CountUsers = %d, %v; want 2", n, err)
		}

		// Update.
		name, admin, tz := "Alice A.", true, "America/New_York"
		up, err := s.UpdateUser(ctx, u.ID, team.UserPatch{Name: &name, IsAdmin: &admin, TimeZone: &tz})
		if err != nil {
			t.Fatal(err)
		}
		want = team.User{ID: u.ID, Email: "alice@example.com", Name: "Alice A.", IsAdmin: true, TimeZone: tz, CreatedAt: start}
		sameUser(t, "UpdateUser", up, want)
		got, _ = s.User(ctx, u.ID)
		sameUser(t, "User after UpdateUser", got, want)

		badTZ, newName := "Nowhere/Town", "Changed"
		_, err = s.UpdateUser(ctx, u.ID, team.UserPatch{Name: &newName, TimeZone: &badTZ})
		wantKind(t, "UpdateUser(bad time zone)", err, apperr.Invalid)
		short := "short"
		_, err = s.UpdateUser(ctx, u.ID, team.UserPatch{Name: &newName, Password: &short})
		wantKind(t, "UpdateUser(short password)", err, apperr.Invalid)
		got, _ = s.User(ctx, u.ID)
		sameUser(t, "User after rejected updates", got, want)
		_, err = s.UpdateUser(ctx, "no-such-id", team.UserPatch{Name: &newName})
		wantKind(t, "UpdateUser(unknown)", err, apperr.NotFound)

		// Delete.
		if err := s.DeleteUser(ctx, bob.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.User(ctx, bob.ID)
		wantKind(t, "User after DeleteUser", err, apperr.NotFound)
		wantKind(t, "DeleteUser again", s.DeleteUser(ctx, bob.ID), apperr.NotFound)
		if n, _ := s.CountUsers(ctx); n != 1 {
			t.Fatalf("CountUsers after delete = %d, want 1", n)
		}
	})
}

func TestPasswords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(db)

		for _, pw := range []string{"short", "elevenchars", strings.Repeat("x", 73)} {
			_, err := s.CreateUser(ctx, team.NewUser{Email: "p@example.com", Password: pw})
			wantKind(t, "CreateUser(password "+pw[:min(len(pw), 12)]+")", err, apperr.Invalid)
		}

		const pw = "correct horse battery"
		u, err := s.CreateUser(ctx, team.NewUser{Email: "Carol@example.com", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.CheckPassword(ctx, " CAROL@example.com", pw)
		if err != nil {
			t.Fatalf("CheckPassword(right): %v", err)
		}
		if got.ID != u.ID || got.Email != "carol@example.com" {
			t.Fatalf("CheckPassword returned %+v, want %s", got, u.ID)
		}
		_, err = s.CheckPassword(ctx, "carol@example.com", "correct horse battery!")
		wantKind(t, "CheckPassword(wrong)", err, apperr.Unauthorized)
		_, err = s.CheckPassword(ctx, "nobody@example.com", pw)
		wantKind(t, "CheckPassword(unknown user)", err, apperr.Unauthorized)

		// A user without a password cannot sign in with any password.
		nopw := mustUser(t, s, "nopw@example.com")
		_, err = s.CheckPassword(ctx, "nopw@example.com", "")
		wantKind(t, "CheckPassword(no password set, empty)", err, apperr.Unauthorized)
		wantKind(t, "SetPassword(short)", s.SetPassword(ctx, nopw.ID, "123456789ab"), apperr.Invalid)
		wantKind(t, "SetPassword(unknown user)", s.SetPassword(ctx, "no-such-id", "a long enough password"), apperr.NotFound)
		if err := s.SetPassword(ctx, nopw.ID, "exactly12chr"); err != nil {
			t.Fatalf("SetPassword(12 characters): %v", err)
		}
		if _, err := s.CheckPassword(ctx, "nopw@example.com", "exactly12chr"); err != nil {
			t.Fatalf("CheckPassword after SetPassword: %v", err)
		}

		// Changing the password through UpdateUser replaces the old one.
		np := "another good password"
		if _, err := s.UpdateUser(ctx, u.ID, team.UserPatch{Password: &np}); err != nil {
			t.Fatal(err)
		}
		_, err = s.CheckPassword(ctx, "carol@example.com", pw)
		wantKind(t, "CheckPassword(old password)", err, apperr.Unauthorized)
		if _, err := s.CheckPassword(ctx, "carol@example.com", np); err != nil {
			t.Fatalf("CheckPassword(new password): %v", err)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(db)
		u := mustUser(t, s, "dave@example.com")
		other := mustUser(t, s, "erin@example.com")

		k1, secret1, err := s.CreateAPIKey(ctx, u.ID, "  ci  ")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret1, "lm_") || len(secret1) < 30 {
			t.Fatalf("secret %q: want lm_ and at least 27 more characters", secret1)
		}
		if k1.Name != "ci" || k1.UserID != u.ID || k1.Prefix != secret1[:9] || !k1.CreatedAt.Equal(start) || k1.RevokedAt != nil || k1.LastUsedAt != nil {
			t.Fatalf("CreateAPIKey = %+v (secret %s)", k1, secret1)
		}
		clk.Advance(time.Second)
		k2, secret2, err := s.CreateAPIKey(ctx, u.ID, "laptop")
		if err != nil {
			t.Fatal(err)
		}
		if secret2 == secret1 || k2.ID == k1.ID {
			t.Fatal("two keys got the same secret or id")
		}
		_, _, err = s.CreateAPIKey(ctx, "no-such-user", "x")
		wantKind(t, "CreateAPIKey(unknown user)", err, apperr.NotFound)

		// Authenticate.
		for _, sec := range []string{secret1, secret2} {
			got, err := s.Authenticate(ctx, sec)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if got.ID != u.ID || got.Email != u.Email {
				t.Fatalf("Authenticate = %+v, want user %s", got, u.ID)
			}
		}
		for _, bad := range []string{"", "lm_", "lm_wrongwrongwrongwrongwrongwrongwr", strings.TrimPrefix(secret1, "lm_"), secret1 + "x", strings.ToUpper(secret1)} {
			_, err := s.Authenticate(ctx, bad)
			wantKind(t, "Authenticate("+bad+")", err, apperr.Unauthorized)
		}

		// last_used_at is written at most once a minute.
		lastUsed := func(id string) *time.Time {
			t.Helper()
			keys, err := s.APIKeys(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if k.ID == id {
					return k.LastUsedAt
				}
			}
			t.Fatalf("key %s not listed", id)
			return nil
		}
		if lu := lastUsed(k1.ID); lu == nil || !lu.Equal(start.Add(time.Second)) {
			t.Fatalf("LastUsedAt after first use = %v, want %v", lu, start.Add(time.Second))
		}
		clk.Advance(30 * time.Second)
		if _, err := s.Authenticate(ctx, secret1); err != nil {
			t.Fatal(err)
		}
		if lu := lastUsed(k1.ID); lu == nil || !lu.Equal(start.Add(time.Second)) {
			t.Fatalf("LastUsedAt after use within a minute = %v, want unchanged %v", lu, start.Add(time.Second))
		}
		clk.Advance(2 * time.Minute)
		if _, err := s.Authenticate(ctx, secret1); err != nil {
			t.Fatal(err)
		}
		if lu, want := lastUsed(k1.ID), clk.Now(); lu == nil || !lu.Equal(want) {
			t.Fatalf("LastUsedAt after use minutes later = %v, want %v", lu, want)
		}

		// The list shows the prefix but never the secret.
		keys, err := s.APIKeys(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 || keys[0].ID != k1.ID || keys[1].ID != k2.ID {
			t.Fatalf("APIKeys = %+v, want k1, k2", keys)
		}
		if keys[0].Prefix != secret1[:9] || keys[1].Prefix != secret2[:9] || keys[1].Name != "laptop" {
			t.Fatalf("APIKeys prefixes/names = %+v", keys)
		}
		js, _ := json.Marshal(keys)
		for _, sec := range []string{secret1, secret2} {
			if strings.Contains(string(js), sec) || strings.Contains(string(js), sec[9:]) {
				t.Fatalf("APIKeys JSON %s contains (part of) the secret beyond its prefix", js)
			}
		}
		if ks, err := s.APIKeys(ctx, other.ID); err != nil || len(ks) != 0 {
			t.Fatalf("APIKeys(other) = %v, %v; want none", ks, err)
		}
		_, err = s.APIKeys(ctx, "no-such-user")
		wantKind(t, "APIKeys(unknown user)", err, apperr.NotFound)

		// Revoking.
		wantKind(t, "RevokeAPIKey(other user's key)", s.RevokeAPIKey(ctx, other.ID, k1.ID), apperr.NotFound)
		if _, err := s.Authenticate(ctx, secret1); err != nil {
			t.Fatalf("key stopped working after another user failed to revoke it: %v", err)
		}
		wantKind(t, "RevokeAPIKey(unknown key)", s.RevokeAPIKey(ctx, u.ID, "no-such-key"), apperr.NotFound)
		revokedAt := clk.Now()
		if err := s.RevokeAPIKey(ctx, u.ID, k1.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Authenticate(ctx, secret1)
		wantKind(t, "Authenticate(revoked)", err, apperr.Unauthorized)
		if _, err := s.Authenticate(ctx, secret2); err != nil {
			t.Fatalf("other key stopped working: %v", err)
		}
		wantKind(t, "RevokeAPIKey(already revoked)", s.RevokeAPIKey(ctx, u.ID, k1.ID), apperr.NotFound)
		keys, _ = s.APIKeys(ctx, u.ID)
		if len(keys) != 2 || keys[0].RevokedAt == nil || !keys[0].RevokedAt.Equal(revokedAt) || keys[1].RevokedAt != nil {
			t.Fatalf("APIKeys after revoke = %+v, want k1 revoked at %v, k2 active", keys, revokedAt)
		}

		// Deleting the user deletes their keys.
		if err := s.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Authenticate(ctx, secret2)
		wantKind(t, "Authenticate(key of deleted user)", err, apperr.Unauthorized)
	})
}

func TestTeams(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(db)

		ops, secret, err := s.CreateTeam(ctx, "  Ops ", "")
		if err != nil {
			t.Fatal(err)
		}
		if ops.Name != "Ops" || ops.DefaultScenario != team.ScenarioSingleAck || !ops.CreatedAt.Equal(start) || ops.ID == "" {
			t.Fatalf("CreateTeam = %+v", ops)
		}
		if len(secret) < 26 || ops.SecretPrefix != secret[:6] {
			t.Fatalf("secret %q, prefix %q: want a long secret starting with the prefix", secret, ops.SecretPrefix)
		}

		_, _, err = s.CreateTeam(ctx, "Ops", team.ScenarioMultiAck)
		wantKind(t, "CreateTeam(duplicate)", err, apperr.Conflict)
		_, _, err = s.CreateTeam(ctx, "DB", "panic")
		wantKind(t, "CreateTeam(invalid scenario)", err, apperr.Invalid)
		_, _, err = s.CreateTeam(ctx, "   ", "")
		wantKind(t, "CreateTeam(blank name)", err, apperr.Invalid)
		_, _, err = s.CreateTeam(ctx, strings.Repeat("n", 101), "")
		wantKind(t, "CreateTeam(long name)", err, apperr.Invalid)

		clk.Advance(time.Second)
		zulu, zuluSecret, err := s.CreateTeam(ctx, "Zulu", team.ScenarioEmergency)
		if err != nil {
			t.Fatal(err)
		}
		if zulu.DefaultScenario != team.ScenarioEmergency || zuluSecret == secret {
			t.Fatalf("CreateTeam(Zulu) = %+v", zulu)
		}
		mustTeam(t, s, "Alpha")

		// Look-ups.
		for name, get := range map[string]func() (team.Team, error){
			"Team":               func() (team.Team, error) { return s.Team(ctx, ops.ID) },
			"TeamByRef(id)":      func() (team.Team, error) { return s.TeamByRef(ctx, ops.ID) },
			"TeamByRef(name)":    func() (team.Team, error) { return s.TeamByRef(ctx, "Ops") },
			"TeamBySecret":       func() (team.Team, error) { return s.TeamBySecret(ctx, secret) },
			"CachedTeamBySecret": func() (team.Team, error) { return s.CachedTeamBySecret(ctx, secret) },
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got.ID != ops.ID || got.Name != "Ops" || got.SecretPrefix != ops.SecretPrefix {
				t.Fatalf("%s = %+v, want %+v", name, got, ops)
			}
		}
		_, err = s.TeamBySecret(ctx, "wrong")
		wantKind(t, "TeamBySecret(wrong)", err, apperr.NotFound)
		_, err = s.CachedTeamBySecret(ctx, "wrong")
		wantKind(t, "CachedTeamBySecret(wrong)", err, apperr.NotFound)
		_, err = s.Team(ctx, "no-such-id")
		wantKind(t, "Team(unknown)", err, apperr.NotFound)
		_, err = s.TeamByRef(ctx, "ops")
		wantKind(t, "TeamByRef(name in other case)", err, apperr.NotFound)

		teams, err := s.Teams(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if names := teamNames(teams); !slices.Equal(names, []string{"Alpha", "Ops", "Zulu"}) {
			t.Fatalf("Teams = %v, want Alpha, Ops, Zulu", names)
		}

		// TeamsOf lists only the user's teams.
		u := mustUser(t, s, "frank@example.com")
		if ts, err := s.TeamsOf(ctx, u.ID); err != nil || len(ts) != 0 {
			t.Fatalf("TeamsOf(no memberships) = %v, %v", ts, err)
		}
		for _, id := range []string{zulu.ID, ops.ID} {
			if _, err := s.AddMember(ctx, id, u.ID, team.RoleResponder); err != nil {
				t.Fatal(err)
			}
		}
		ts, err := s.TeamsOf(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if names := teamNames(ts); !slices.Equal(names, []string{"Ops", "Zulu"}) {
			t.Fatalf("TeamsOf = %v, want Ops, Zulu", names)
		}

		// Update: the change shows through the cache at once.
		newName, scenario := "Operations", team.ScenarioMultiAck
		up, err := s.UpdateTeam(ctx, ops.ID, team.TeamPatch{Name: &newName, DefaultScenario: &scenario})
		if err != nil {
			t.Fatal(err)
		}
		if up.Name != "Operations" || up.DefaultScenario != team.ScenarioMultiAck || up.ID != ops.ID {
			t.Fatalf("UpdateTeam = %+v", up)
		}
		if got, err := s.CachedTeamBySecret(ctx, secret); err != nil || got.Name != "Operations" || got.DefaultScenario != team.ScenarioMultiAck {
			t.Fatalf("CachedTeamBySecret after UpdateTeam = %+v, %v; want the new name and scenario", got, err)
		}
		taken, bad := "Alpha", "loud"
		_, err = s.UpdateTeam(ctx, ops.ID, team.TeamPatch{Name: &taken})
		wantKind(t, "UpdateTeam(name taken)", err, apperr.Conflict)
		_, err = s.UpdateTeam(ctx, ops.ID, team.TeamPatch{DefaultScenario: &bad})
		wantKind(t, "UpdateTeam(bad scenario)", err, apperr.Invalid)
		_, err = s.UpdateTeam(ctx, "no-such-id", team.TeamPatch{Name: &newName})
		wantKind(t, "UpdateTeam(unknown)", err, apperr.NotFound)
		if got, _ := s.Team(ctx, ops.ID); got.Name != "Operations" || got.DefaultScenario != team.ScenarioMultiAck {
			t.Fatalf("Team after rejected updates = %+v", got)
		}

		// Delete: the cached secret stops working at once.
		if _, err := s.CachedTeamBySecret(ctx, zuluSecret); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTeam(ctx, zulu.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.CachedTeamBySecret(ctx, zuluSecret)
		wantKind(t, "CachedTeamBySecret(deleted team)", err, apperr.NotFound)
		_, err = s.Team(ctx, zulu.ID)
		wantKind(t, "Team(deleted)", err, apperr.NotFound)
		wantKind(t, "DeleteTeam again", s.DeleteTeam(ctx, zulu.ID), apperr.NotFound)
		if ts, _ := s.TeamsOf(ctx, u.ID); !slices.Equal(teamNames(ts), []string{"Operations"}) {
			t.Fatalf("TeamsOf after deleting Zulu = %v", teamNames(ts))
		}
	})
}

func teamNames(ts []team.Team) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestRotateSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(db)
		tm, old := mustTeam(t, s, "Ops")

		// Warm the cache with the old secret; the fake clock never moves, so
		// only invalidation can make it fail.
		if got, err := s.CachedTeamBySecret(ctx, old); err != nil || got.ID != tm.ID {
			t.Fatalf("CachedTeamBySecret(old) = %+v, %v", got, err)
		}
		secret, err := s.RotateSecret(ctx, tm.ID)
		if err != nil {
			t.Fatal(err)
		}
		if secret == old || len(secret) != len(old) {
			t.Fatalf("RotateSecret = %q, old %q", secret, old)
		}
		_, err = s.CachedTeamBySecret(ctx, old)
		wantKind(t, "CachedTeamBySecret(old) after rotate", err, apperr.NotFound)
		_, err = s.TeamBySecret(ctx, old)
		wantKind(t, "TeamBySecret(old) after rotate", err, apperr.NotFound)
		for name, get := range map[string]func(context.Context, string) (team.Team, error){
			"TeamBySecret": s.TeamBySecret, "CachedTeamBySecret": s.CachedTeamBySecret,
		} {
			got, err := get(ctx, secret)
			if err != nil || got.ID != tm.ID || got.SecretPrefix != secret[:6] {
				t.Fatalf("%s(new) = %+v, %v; want team %s with prefix %s", name, got, err, tm.ID, secret[:6])
			}
		}
		if got, _ := s.Team(ctx, tm.ID); got.SecretPrefix != secret[:6] {
			t.Fatalf("Team prefix after rotate = %q, want %q", got.SecretPrefix, secret[:6])
		}
		_, err = s.RotateSecret(ctx, "no-such-team")
		wantKind(t, "RotateSecret(unknown)", err, apperr.NotFound)
	})
}

// TestCacheTTLAcrossInstances: a secret rotated by another instance stops
// working here once the cache entry expires.
func TestCacheTTLAcrossInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(start)
		a, b := team.NewService(db, clk), team.NewService(db, clk)
		tm, old, err := a.CreateTeam(ctx, "Ops", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.CachedTeamBySecret(ctx, old); err != nil {
			t.Fatal(err)
		}
		if _, err := a.CachedCategories(ctx, tm.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.RotateSecret(ctx, tm.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.CreateCategory(ctx, tm.ID, team.NewCategory{Name: "DB"}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(3 * time.Second)
		_, err = a.CachedTeamBySecret(ctx, old)
		wantKind(t, "CachedTeamBySecret(old) on the other instance after the TTL", err, apperr.NotFound)
		cs, err := a.CachedCategories(ctx, tm.ID)
		if err != nil || len(cs) != 1 || cs[0].Name != "DB" {
			t.Fatalf("CachedCategories on the other instance after the TTL = %+v, %v; want DB", cs, err)
		}
	})
}

func TestMembers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(db)
		ops, _ := mustTeam(t, s, "Ops")
		dev, _ := mustTeam(t, s, "Dev")
		zed := mustUser(t, s, "zed@example.com")
		amy, err := s.CreateUser(ctx, team.NewUser{Email: "amy@example.com", Name: "Amy", TimeZone: "Europe/Berlin"})
		if err != nil {
			t.Fatal(err)
		}

		m, err := s.AddMember(ctx, ops.ID, amy.ID, team.RoleManager)
		if err != nil {
			t.Fatal(err)
		}
		want := team.Member{TeamID: ops.ID, UserID: amy.ID, Email: "amy@example.com", Name: "Amy", TimeZone: "Europe/Berlin", Role: team.RoleManager}
		if m.TeamID != want.TeamID || m.UserID != want.UserID || m.Email != want.Email || m.Name != want.Name ||
			m.TimeZone != want.TimeZone || m.Role != want.Role || !m.CreatedAt.Equal(start) {
			t.Fatalf("AddMember = %+v, want %+v", m, want)
		}
		_, err = s.AddMember(ctx, ops.ID, amy.ID, team.RoleAdmin)
		wantKind(t, "AddMember(duplicate)", err, apperr.Conflict)
		for _, r := range []team.Role{"boss", "", "Admin"} {
			_, err = s.AddMember(ctx, ops.ID, zed.ID, r)
			wantKind(t, "AddMember(role "+string(r)+")", err, apperr.Invalid)
		}
		_, err = s.AddMember(ctx, "no-such-team", zed.ID, team.RoleResponder)
		wantKind(t, "AddMember(unknown team)", err, apperr.NotFound)
		_, err = s.AddMember(ctx, ops.ID, "no-such-user", team.RoleResponder)
		wantKind(t, "AddMember(unknown user)", err, apperr.NotFound)

		if _, err := s.AddMember(ctx, ops.ID, zed.ID, team.RoleResponder); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddMember(ctx, dev.ID, amy.ID, team.RoleResponder); err != nil {
			t.Fatal(err)
		}

		ms, err := s.Members(ctx, ops.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 || ms[0].Email != "amy@example.com" || ms[0].Role != team.RoleManager ||
			ms[1].Email != "zed@example.com" || ms[1].Role != team.RoleResponder {
			t.Fatalf("Members(ops) = %+v, want amy (manager), zed (responder)", ms)
		}
		if ms, err := s.Members(ctx, "no-such-team"); err != nil || len(ms) != 0 {
			t.Fatalf("Members(unknown team) = %v, %v; want none", ms, err)
		}

		roles, err := s.Roles(ctx, amy.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(roles) != 2 || roles[ops.ID] != team.RoleManager || roles[dev.ID] != team.RoleResponder {
			t.Fatalf("Roles(amy) = %v", roles)
		}

		// SetRole.
		m, err = s.SetRole(ctx, ops.ID, zed.ID, team.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if m.Role != team.RoleAdmin || m.UserID != zed.ID {
			t.Fatalf("SetRole = %+v, want zed as admin", m)
		}
		if got, err := s.Member(ctx, ops.ID, zed.ID); err != nil || got.Role != team.RoleAdmin {
			t.Fatalf("Member after SetRole = %+v, %v", got, err)
		}
		_, err = s.SetRole(ctx, ops.ID, zed.ID, "owner")
		wantKind(t, "SetRole(invalid)", err, apperr.Invalid)
		_, err = s.SetRole(ctx, dev.ID, zed.ID, team.RoleAdmin)
		wantKind(t, "SetRole(not a member)", err, apperr.NotFound)

		// RemoveMember.
		if err := s.RemoveMember(ctx, ops.ID, amy.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Member(ctx, ops.ID, amy.ID)
		wantKind(t, "Member after RemoveMember", err, apperr.NotFound)
		wantKind(t, "RemoveMember again", s.RemoveMember(ctx, ops.ID, amy.ID), apperr.NotFound)
		ms, _ = s.Members(ctx, ops.ID)
		if len(ms) != 1 || ms[0].UserID != zed.ID {
			t.Fatalf("Members after RemoveMember = %+v, want only zed", ms)
		}
		roles, _ = s.Roles(ctx, amy.ID)
		if len(roles) != 1 || roles[dev.ID] != team.RoleResponder {
			t.Fatalf("Roles(amy) after RemoveMember = %v, want only dev", roles)
		}

		// Deleting a team or a user removes their memberships.
		if err := s.DeleteTeam(ctx, dev.ID); err != nil {
			t.Fatal(err)
		}
		if roles, _ := s.Roles(ctx, amy.ID); len(roles) != 0 {
			t.Fatalf("Roles(amy) after deleting her last team = %v", roles)
		}
		if err := s.DeleteUser(ctx, zed.ID); err != nil {
			t.Fatal(err)
		}
		if ms, _ := s.Members(ctx, ops.ID); len(ms) != 0 {
			t.Fatalf("Members after deleting the user = %+v", ms)
		}
	})
}

func TestRoleAtLeast(t *testing.T) {
	tests := []struct {
		r, min team.Role
		want   bool
	}{
		{team.RoleAdmin, team.RoleAdmin, true},
		{team.RoleAdmin, team.RoleManager, true},
		{team.RoleAdmin, team.RoleResponder, true},
		{team.RoleManager, team.RoleAdmin, false},
		{team.RoleManager, team.RoleManager, true},
		{team.RoleManager, team.RoleResponder, true},
		{team.RoleResponder, team.RoleAdmin, false},
		{team.RoleResponder, team.RoleManager, false},
		{team.RoleResponder, team.RoleResponder, true},
		{"", team.RoleResponder, false},
		{"owner", team.RoleResponder, false},
		{"Admin", team.RoleManager, false},
	}
	for _, tt := range tests {
		if got := tt.r.AtLeast(tt.min); got != tt.want {
			t.Errorf("Role(%q).AtLeast(%q) = %v, want %v", tt.r, tt.min, got, tt.want)
		}
	}
	for _, r := range []team.Role{team.RoleAdmin, team.RoleManager, team.RoleResponder} {
		if !r.Valid() {
			t.Errorf("Role(%q).Valid() = false", r)
		}
	}
	for _, r := range []team.Role{"", "boss", "ADMIN"} {
		if r.Valid() {
			t.Errorf("Role(%q).Valid() = true", r)
		}
	}
}

func TestContactMethodPhones(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means invalid
	}{
		{"+49 151 1234-5678", "+4915112345678"},
		{"0049 151 12345678", "+4915112345678"},
		{"+4915112345678", "+4915112345678"},
		{"  +49 151 12345678  ", "+4915112345678"},
		{"+1 (555) 123.4567", "+15551234567"},
		{"+44/20/7946/0958", "+442079460958"},
		{"+49123456", "+49123456"},               // 8 digits: the shortest allowed
		{"+123456789012345", "+123456789012345"}, // 15 digits: the longest allowed
		{"015112345678", ""},                     // no country code
		{"15112345678", ""},                      // no + or 00
		{"+0123456789", ""},                      // country codes do not start with 0
		{"000123456789", ""},                     // 00 then a leading 0
		{"+4912345", ""},                         // 7 digits
		{"+1234567890123456", ""},                // 16 digits
		{"+49 151 ABCDEFG", ""},                  // letters
		{"+49151123x45678", ""},
		{"49+15112345678", ""}, // + not at the start
		{"++4915112345678", ""},
		{"+", ""},
		{"00", ""},
		{"", ""},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(db)
		u := mustUser(t, s, "phone@example.com")
		for _, channel := range []string{"sms", "voice"} {
			for _, tt := range tests {
				c, err := s.AddContactMethod(ctx, u.ID, channel, tt.in, "")
				if tt.want == "" {
					wantKind(t, channel+" "+tt.in, err, apperr.Invalid)
					continue
				}
				if err != nil {
					t.Fatalf("AddContactMethod(%s, %q): %v", channel, tt.in, err)
				}
				if c.Address != tt.want || c.Channel != channel {
					t.Fatalf("AddContactMethod(%s, %q) = %s %q, want %q", channel, tt.in, c.Channel, c.Address, tt.want)
				}
				if err := s.DeleteContactMethod(ctx, u.ID, c.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		if cs, err := s.ContactMethods(ctx, u.ID); err != nil || len(cs) != 0 {
			t.Fatalf("ContactMethods after deleting all = %+v, %v", cs, err)
		}
	})
}

// TestPhoneTrunkPrefix: "+49 (0)151 …" is a common way to write a German
// number; the (0) is not dialled from abroad.
func TestPhoneTrunkPrefix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, _ := newService(db)
		u := mustUser(t, s, "trunk@example.com")
		c, err := s.AddContactMethod(ctx, u.ID, "sms", "+49 (0)151 12345678", "")
		if err != nil || c.Address != "+4915112345678" {
			t.Fatalf("stored %q (%v), want +4915112345678", c.Address, err)
		}
	})
}

func TestContactMethods(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(db)
		u := mustUser(t, s, "gina@example.com")
		other := mustUser(t, s, "hank@example.com")

		valid := []struct{ channel, in, want string }{
			{"email", "Gina <Gina.Work@Example.COM>", "gina.work@example.com"},
			{"EMAIL", " gina@example.org ", "gina@example.org"},
			{"sms", "+49 151 1234-5678", "+4915112345678"},
			{"voice", "+49 151 1234-5678", "+4915112345678"}, // same number, other channel
			{"ntfy", "lastmile-gina", "lastmile-gina"},       // a bare topic
			{"ntfy", "https://ntfy.example.com/alerts", "https://ntfy.example.com/alerts"},
			{"webhook", "https://hooks.example.com/x?y=1", "https://hooks.example.com/x?y=1"},
			{"slack", "https://hooks.slack.com/services/T/B/C", "https://hooks.slack.com/services/T/B/C"},
			{"teams", "http://teams.example.com/hook", "http://teams.example.com/hook"},
			{"push", "device-token-123", "device-token-123"},
		}
		var ids []string
		for _, tt := range valid {
			clk.Advance(time.Second)
			c, err := s.AddContactMethod(ctx, u.ID, tt.channel, tt.in, "  work ")
			if err != nil {
				t.Fatalf("AddContactMethod(%s, %q): %v", tt.channel, tt.in, err)
			}
			if c.Address != tt.want || c.Channel != strings.ToLower(tt.channel) || c.Label != "work" || c.UserID != u.ID || !c.CreatedAt.Equal(clk.Now()) {
				t.Fatalf("AddContactMethod(%s, %q) = %+v, want address %q", tt.channel, tt.in, c, tt.want)
			}
			ids = append(ids, c.ID)
		}

		invalid := []struct{ channel, in string }{
			{"email", "not an email"},
			{"email", ""},
			{"ntfy", "ntfy.example.com/alerts"}, // has a slash but is no URL
			{"ntfy", "ftp://ntfy.example.com/alerts"},
			{"webhook", "hooks.example.com"},
			{"webhook", "https://"},
			{"slack", "not a url"},
			{"teams", "mailto:a@example.com"},
			{"pager", "12345"},
			{"", "x"},
			{"push", "   "},
		}
		for _, tt := range invalid {
			_, err := s.AddContactMethod(ctx, u.ID, tt.channel, tt.in, "")
			wantKind(t, "AddContactMethod("+tt.channel+", "+tt.in+")", err, apperr.Invalid)
		}

		// Duplicates are found after normalisation.
		dups := []struct{ channel, in string }{
			{"email", "GINA.WORK@example.com"},
			{"sms", "0049 151 12345678"},
			{"ntfy", "lastmile-gina"},
		}
		for _, tt := range dups {
			_, err := s.AddContactMethod(ctx, u.ID, tt.channel, tt.in, "")
			wantKind(t, "AddContactMethod(duplicate "+tt.channel+" "+tt.in+")", err, apperr.Conflict)
		}
		// The same address for another user is fine.
		if _, err := s.AddContactMethod(ctx, other.ID, "sms", "+4915112345678", ""); err != nil {
			t.Fatalf("same number for another user: %v", err)
		}

		_, err := s.AddContactMethod(ctx, "no-such-user", "sms", "+4915112345678", "")
		wantKind(t, "AddContactMethod(unknown user)", err, apperr.NotFound)
		_, err = s.ContactMethods(ctx, "no-such-user")
		wantKind(t, "ContactMethods(unknown user)", err, apperr.NotFound)

		cs, err := s.ContactMethods(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cs {
			got = append(got, c.ID)
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("ContactMethods ids = %v, want %v in creation order", got, ids)
		}
		if cs[0].Address != "gina.work@example.com" || cs[0].Channel != "email" || cs[0].Label != "work" {
			t.Fatalf("ContactMethods[0] = %+v", cs[0])
		}

		// Delete.
		wantKind(t, "DeleteContactMethod(other user's)", s.DeleteContactMethod(ctx, other.ID, ids[0]), apperr.NotFound)
		if err := s.DeleteContactMethod(ctx, u.ID, ids[0]); err != nil {
			t.Fatal(err)
		}
		wantKind(t, "DeleteContactMethod again", s.DeleteContactMethod(ctx, u.ID, ids[0]), apperr.NotFound)
		cs, _ = s.ContactMethods(ctx, u.ID)
		if len(cs) != len(ids)-1 || cs[0].ID != ids[1] {
			t.Fatalf("ContactMethods after delete = %+v", cs)
		}
		// After deletion the address can be added again.
		if _, err := s.AddContactMethod(ctx, u.ID, "email", "gina.work@example.com", ""); err != nil {
			t.Fatalf("re-adding a deleted address: %v", err)
		}
	})
}

func TestCategories(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, clk := newService(db)
		ops, _ := mustTeam(t, s, "Ops")
		dev, _ := mustTeam(t, s, "Dev")

		// Warm the cache; the fake clock never expires it.
		if cs, err := s.CachedCategories(ctx, ops.ID); err != nil || len(cs) != 0 {
			t.Fatalf("CachedCategories(empty) = %+v, %v", cs, err)
		}

		db1, err := s.CreateCategory(ctx, ops.ID, team.NewCategory{Name: " Database ", Color: " #ff0000 ", Keywords: []string{" db ", "", "  ", "host pg1"}, MatchAll: true})
		if err != nil {
			t.Fatal(err)
		}
		if db1.Name != "Database" || db1.Color != "#ff0000" || !slices.Equal(db1.Keywords, []string{"db", "host pg1"}) ||
			!db1.MatchAll || db1.TeamID != ops.ID || !db1.CreatedAt.Equal(start) {
			t.Fatalf("CreateCategory = %+v", db1)
		}
		cs, err := s.CachedCategories(ctx, ops.ID)
		if err != nil || len(cs) != 1 || cs[0].ID != db1.ID {
			t.Fatalf("CachedCategories right after create = %+v, %v; want Database", cs, err)
		}

		clk.Advance(time.Second)
		net, err := s.CreateCategory(ctx, ops.ID, team.NewCategory{Name: "Network"})
		if err != nil {
			t.Fatal(err)
		}
		if net.Keywords == nil || len(net.Keywords) != 0 || net.MatchAll {
			t.Fatalf("CreateCategory without keywords = %+v", net)
		}

		_, err = s.CreateCategory(ctx, ops.ID, team.NewCategory{Name: "Database"})
		wantKind(t, "CreateCategory(duplicate)", err, apperr.Conflict)
		for _, name := range []string{"", "   ", strings.Repeat("c", 101)} {
			_, err = s.CreateCategory(ctx, ops.ID, team.NewCategory{Name: name})
			wantKind(t, "CreateCategory(bad name)", err, apperr.Invalid)
		}
		_, err = s.CreateCategory(ctx, "no-such-team", team.NewCategory{Name: "X"})
		wantKind(t, "CreateCategory(unknown team)", err, apperr.NotFound)
		// The same name in another team is fine.
		devDB, err := s.CreateCategory(ctx, dev.ID, team.NewCategory{Name: "Database"})
		if err != nil {
			t.Fatalf("same category name in another team: %v", err)
		}

		cs, err = s.Categories(ctx, db, ops.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 2 || cs[0].ID != db1.ID || cs[1].ID != net.ID {
			t.Fatalf("Categories = %+v, want Database, Network", cs)
		}
		if !slices.Equal(cs[0].Keywords, []string{"db", "host pg1"}) || !cs[0].MatchAll || cs[0].Color != "#ff0000" || !cs[0].CreatedAt.Equal(start) {
			t.Fatalf("Categories[0] = %+v, want what was created", cs[0])
		}
		if len(cs[1].Keywords) != 0 || cs[1].MatchAll {
			t.Fatalf("Categories[1] = %+v", cs[1])
		}
		cs, _ = s.CachedCategories(ctx, ops.ID)
		if len(cs) != 2 {
			t.Fatalf("CachedCategories = %+v, want 2", cs)
		}

		// Delete.
		wantKind(t, "DeleteCategory(wrong team)", s.DeleteCategory(ctx, dev.ID, db1.ID), apperr.NotFound)
		if err := s.DeleteCategory(ctx, ops.ID, db1.ID); err != nil {
			t.Fatal(err)
		}
		wantKind(t, "DeleteCategory again", s.DeleteCategory(ctx, ops.ID, db1.ID), apperr.NotFound)
		cs, err = s.CachedCategories(ctx, ops.ID)
		if err != nil || len(cs) != 1 || cs[0].ID != net.ID {
			t.Fatalf("CachedCategories right after delete = %+v, %v; want only Network", cs, err)
		}
		if cs, _ := s.Categories(ctx, db, dev.ID); len(cs) != 1 || cs[0].ID != devDB.ID {
			t.Fatalf("Categories(dev) = %+v, want its own Database", cs)
		}
	})
}

func TestCategoryMatches(t *testing.T) {
	params := func(ps map[string]string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			for k, v := range ps {
				if strings.EqualFold(k, name) {
					return v, true
				}
			}
			return "", false
		}
	}
	tests := []struct {
		name     string
		keywords []string
		all      bool
		params   map[string]string
		text     string
		want     bool
	}{
		{"any: one hits", []string{"db", "disk"}, false, nil, "Disk almost full on web1", true},
		{"any: none hits", []string{"db", "memory"}, false, nil, "cpu high on web1", false},
		{"all: every one hits", []string{"disk", "full"}, true, nil, "DISK is FULL", true},
		{"all: one misses", []string{"disk", "memory"}, true, nil, "disk full", false},
		{"case-insensitive keyword", []string{"CPU"}, false, nil, "cpu high", true},
		{"substring", []string{"web"}, false, nil, "host webserver-1 down", true},
		{"no keywords", nil, false, nil, "anything at all", false},
		{"no keywords, match all", nil, true, nil, "anything at all", false},
		{"empty keyword list, match all", []string{}, true, map[string]string{"host": "db1"}, "", false},
		{"param word: hit in the parameter", []string{"host db1"}, false, map[string]string{"host": "db1.example.com"}, "unrelated text", true},
		{"param word: only that parameter counts", []string{"host db1"}, false, map[string]string{"host": "web1", "service": "db1"}, "db1 is mentioned in the text", false},
		{"param word: case-insensitive value and name", []string{"Host DB1"}, false, map[string]string{"host": "db1"}, "", true},
		{"param word: extra spaces before the word", []string{"host   db1"}, false, map[string]string{"host": "db1"}, "", true},
		{"two words without such a parameter: whole phrase in the text", []string{"disk full"}, false, map[string]string{"host": "db1"}, "Disk Full on /var", true},
		{"two words without such a parameter: phrase missing", []string{"disk full"}, false, nil, "disk is almost full", false},
		{"all: param word and plain word both hit", []string{"host db1", "down"}, true, map[string]string{"host": "db1"}, "service down", true},
		{"all: param word misses", []string{"host db1", "down"}, true, map[string]string{"host": "web1"}, "db1 down", false},
		{"any: param word misses, plain word hits", []string{"host db1", "down"}, false, map[string]string{"host": "web1"}, "service down", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := team.Category{Name: "c", Keywords: tt.keywords, MatchAll: tt.all}
			if got := c.Matches(params(tt.params), tt.text); got != tt.want {
				t.Fatalf("Category{Keywords: %q, MatchAll: %v}.Matches(%v, %q) = %v, want %v", tt.keywords, tt.all, tt.params, tt.text, got, tt.want)
			}
		})
	}
}
