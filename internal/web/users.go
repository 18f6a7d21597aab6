package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

type consoleAdminData struct {
	Users, Admins, Pending, Teams, Open int
	BaseURL                             string
	Database                            string
	SSO                                 bool
	Email                               bool
}

func (s *Server) consoleAdminHome(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	us, err := s.cfg.Teams.Users(ctx)
	if err != nil {
		return err
	}
	ts, err := s.cfg.Teams.Teams(ctx)
	if err != nil {
		return err
	}
	pending, err := s.invites().pending(ctx)
	if err != nil {
		return err
	}
	_, open, err := s.consoleCounts(ctx)
	if err != nil {
		return err
	}
	d := consoleAdminData{Users: len(us), Pending: len(pending), Teams: len(ts), BaseURL: s.cfg.BaseURL, SSO: s.oidc != nil, Database: "SQLite"}
	for _, u := range us {
		if u.IsAdmin {
			d.Admins++
		}
	}
	for _, n := range open {
		d.Open += n
	}
	if s.cfg.DB.Dialect() == store.Postgres {
		d.Database = "PostgreSQL"
	}
	if s.cfg.Channels != nil {
		_, d.Email = s.cfg.Channels.Channel("email")
	}
	v.Title, v.Nav = "Administration", "admin"
	return s.render(w, v, "admin", d)
}

// consoleUserRow is one user on the users page.
type consoleUserRow struct {
	team.User
	Teams   []consoleUserTeam
	Self    bool
	Pending bool
	Expiry  time.Time
}

type consoleUsersData struct {
	Users  []consoleUserRow
	Invite *inviteResult
}

func (s *Server) consoleAdminUsers(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.consoleRenderUsers(w, r, v, nil)
}

func (s *Server) consoleRenderUsers(w http.ResponseWriter, r *http.Request, v *view, inv *inviteResult) error {
	ctx := r.Context()
	us, err := s.cfg.Teams.Users(ctx)
	if err != nil {
		return err
	}
	teams, err := s.consoleTeamsByUser(ctx)
	if err != nil {
		return err
	}
	pending, err := s.invites().pending(ctx)
	if err != nil {
		return err
	}
	d := consoleUsersData{Users: []consoleUserRow{}, Invite: inv}
	for _, u := range us {
		exp, p := pending[u.ID]
		d.Users = append(d.Users, consoleUserRow{User: u, Teams: teams[u.ID], Self: u.ID == v.User.ID, Pending: p, Expiry: exp})
	}
	v.Title, v.Nav = "Users", "admin"
	return s.render(w, v, "admin_users", d)
}

// consoleAddUser creates a user without a password and invites them to
// choose one.
func (s *Server) consoleAddUser(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	email := strings.TrimSpace(r.PostFormValue("email"))
	if email == "" {
		return apperr.New(apperr.Invalid, "Enter the new user's email address.")
	}
	u, err := s.cfg.Teams.CreateUser(ctx, team.NewUser{Email: email, Name: strings.TrimSpace(r.PostFormValue("name")), IsAdmin: r.PostFormValue("admin") == "yes"})
	if err != nil {
		return err
	}
	s.cfg.Log.Info("user created", "user_id", u.ID, "admin", u.IsAdmin, "by", v.User.ID)
	inv, err := s.issueInvite(ctx, v, u, "lastmile")
	if err != nil {
		return err
	}
	v.Flash = &flash{Kind: "ok", Text: "User " + u.Email + " created."}
	return s.consoleRenderUsers(w, r, v, inv)
}

// consoleSetAdmin grants or takes away instance administration. Nobody
// changes their own: the last administrator cannot lock everyone out.
func (s *Server) consoleSetAdmin(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if id == v.User.ID {
		return apperr.New(apperr.Conflict, "You cannot change your own administrator rights; ask another administrator.")
	}
	admin := r.PostFormValue("admin") == "yes"
	u, err := s.cfg.Teams.UpdateUser(r.Context(), id, team.UserPatch{IsAdmin: &admin})
	if err != nil {
		return err
	}
	s.cfg.Log.Info("administrator rights changed", "user_id", id, "admin", admin, "by", v.User.ID)
	msg := u.Email + " is no longer an administrator."
	if admin {
		msg = u.Email + " is now an administrator."
	}
	return redirect(w, r, "/admin/users", msg)
}

// consoleInviteUser makes a new sign-in link for a user: for someone whose
// first link expired, or who forgot their password. Using it replaces
// their password.
func (s *Server) consoleInviteUser(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if id == v.User.ID {
		return apperr.New(apperr.Conflict, "Change your own password on your profile page.")
	}
	u, err := s.cfg.Teams.User(r.Context(), id)
	if err != nil {
		return err
	}
	inv, err := s.issueInvite(r.Context(), v, u, "lastmile")
	if err != nil {
		return err
	}
	return s.consoleRenderUsers(w, r, v, inv)
}

func (s *Server) consoleDeleteUser(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if id == v.User.ID {
		return apperr.New(apperr.Conflict, "You cannot delete yourself; ask another administrator.")
	}
	u, err := s.cfg.Teams.User(r.Context(), id)
	if err != nil {
		return err
	}
	if r.PostFormValue("confirm") != "yes" {
		return apperr.New(apperr.Invalid, "Tick the box to confirm that %s is deleted.", u.Email)
	}
	if err := s.cfg.Teams.DeleteUser(r.Context(), id); err != nil {
		return err
	}
	s.cfg.Log.Info("user deleted", "user_id", id, "by", v.User.ID)
	return redirect(w, r, "/admin/users", "User "+u.Email+" was deleted.")
}
