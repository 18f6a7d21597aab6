package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

// consoleMemberRow is one member as the members page shows them.
type consoleMemberRow struct {
	team.Member
	Self bool
	// Pending: invited, and has not chosen a password through the
	// invitation yet.
	Pending      bool
	InviteExpiry time.Time
	// Locked: the signed-in team admin's own row; changing their own role
	// or leaving could lock them out of the team's settings.
	Locked bool
	// CanReinvite: a new link may be made. Never for an instance
	// administrator, whose password a team admin must not be able to set.
	CanReinvite bool
}

type consoleMembersData struct {
	Team      team.Team
	Members   []consoleMemberRow
	CanEdit   bool // team admin or instance administrator
	CanDelete bool // instance administrator
	Roles     []team.Role
	Scenarios []consoleOption
	Invite    *inviteResult
}

func (s *Server) consoleMembers(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.consoleRenderMembers(w, r, v, nil)
}

func (s *Server) consoleRenderMembers(w http.ResponseWriter, r *http.Request, v *view, inv *inviteResult) error {
	t, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	ms, err := s.cfg.Teams.Members(r.Context(), t.ID)
	if err != nil {
		return err
	}
	pending, err := s.invites().pending(r.Context())
	if err != nil {
		return err
	}
	admins, err := s.consoleAdminIDs(r)
	if err != nil {
		return err
	}
	d := consoleMembersData{Team: t, CanEdit: v.teamRole(t.ID, team.RoleAdmin) == nil, CanDelete: v.IsAdmin(),
		Roles: []team.Role{team.RoleResponder, team.RoleManager, team.RoleAdmin}, Scenarios: consoleScenarios(), Invite: inv}
	for _, m := range ms {
		exp, isPending := pending[m.UserID]
		d.Members = append(d.Members, consoleMemberRow{Member: m, Self: m.UserID == v.User.ID, Pending: isPending, InviteExpiry: exp,
			Locked: m.UserID == v.User.ID && !v.IsAdmin(), CanReinvite: isPending && !admins[m.UserID]})
	}
	v.Title, v.Nav = t.Name+" · Members", "console"
	return s.render(w, v, "team_members", d)
}

// consoleAdminIDs returns the instance administrators' ids.
func (s *Server) consoleAdminIDs(r *http.Request) (map[string]bool, error) {
	us, err := s.cfg.Teams.Users(r.Context())
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, u := range us {
		if u.IsAdmin {
			out[u.ID] = true
		}
	}
	return out, nil
}

// consoleInvite adds a person by email: an existing user joins at once; a new
// one is created without a password and invited to choose one.
func (s *Server) consoleInvite(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	t, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	role := team.Role(r.PostFormValue("role"))
	if role == "" {
		role = team.RoleResponder
	}
	if !role.Valid() {
		return apperr.New(apperr.Invalid, "Choose a role: responder, manager or admin.")
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	if email == "" {
		return apperr.New(apperr.Invalid, "Enter the email address of the person to invite.")
	}
	u, err := s.cfg.Teams.UserByEmail(ctx, email)
	created := false
	if apperr.KindOf(err) == apperr.NotFound {
		u, err = s.cfg.Teams.CreateUser(ctx, team.NewUser{Email: email, Name: strings.TrimSpace(r.PostFormValue("name"))})
		created = true
	}
	if err != nil {
		return err
	}
	if _, err := s.cfg.Teams.AddMember(ctx, t.ID, u.ID, role); err != nil {
		if apperr.KindOf(err) == apperr.Conflict {
			return apperr.New(apperr.Conflict, "%s is already a member of this team.", u.Email)
		}
		return err
	}
	s.cfg.Log.Info("member added", "team_id", t.ID, "user_id", u.ID, "role", role, "by", v.User.ID, "new_user", created)
	pending := false
	if !created && !u.IsAdmin {
		if pending, err = s.invites().isPending(ctx, u.ID); err != nil {
			return err
		}
	}
	if !created && !pending {
		return redirect(w, r, "/teams/"+t.ID, u.Email+" was added to the team as "+string(role)+".")
	}
	// Someone new, or someone invited before who never chose a password:
	// they need a link to sign in.
	inv, err := s.issueInvite(ctx, v, u, "Team "+t.Name)
	if err != nil {
		return err
	}
	v.Flash = &flash{Kind: "ok", Text: u.Email + " was added to the team as " + string(role) + "."}
	return s.consoleRenderMembers(w, r, v, inv)
}

// consoleReinvite makes a new invitation link for a member who has not
// joined yet (the first link expired or got lost).
func (s *Server) consoleReinvite(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	t, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	m, err := s.cfg.Teams.Member(ctx, t.ID, r.PathValue("userId"))
	if err != nil {
		return err
	}
	u, err := s.cfg.Teams.User(ctx, m.UserID)
	if err != nil {
		return err
	}
	pending, err := s.invites().isPending(ctx, u.ID)
	if err != nil {
		return err
	}
	if !pending || u.IsAdmin {
		return apperr.New(apperr.Conflict, "%s has already joined; they sign in with their own password.", u.Email)
	}
	inv, err := s.issueInvite(ctx, v, u, "Team "+t.Name)
	if err != nil {
		return err
	}
	return s.consoleRenderMembers(w, r, v, inv)
}

func (s *Server) consoleSetRole(w http.ResponseWriter, r *http.Request, v *view) error {
	t, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	userID := r.PathValue("userId")
	if userID == v.User.ID && !v.IsAdmin() {
		return apperr.New(apperr.Conflict, "You cannot change your own role; ask another admin of the team.")
	}
	m, err := s.cfg.Teams.SetRole(r.Context(), t.ID, userID, team.Role(r.PostFormValue("role")))
	if err != nil {
		return err
	}
	s.cfg.Log.Info("member role changed", "team_id", t.ID, "user_id", userID, "role", m.Role, "by", v.User.ID)
	return redirect(w, r, "/teams/"+t.ID, m.Email+" is now "+string(m.Role)+".")
}

func (s *Server) consoleRemoveMember(w http.ResponseWriter, r *http.Request, v *view) error {
	t, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	userID := r.PathValue("userId")
	if userID == v.User.ID && !v.IsAdmin() {
		return apperr.New(apperr.Conflict, "You cannot remove yourself; ask another admin of the team.")
	}
	m, err := s.cfg.Teams.Member(r.Context(), t.ID, userID)
	if err != nil {
		return err
	}
	if err := s.cfg.Teams.RemoveMember(r.Context(), t.ID, userID); err != nil {
		return err
	}
	s.cfg.Log.Info("member removed", "team_id", t.ID, "user_id", userID, "by", v.User.ID)
	return redirect(w, r, "/teams/"+t.ID, m.Email+" was removed from the team.")
}

// consoleTeamSettings renames the team or changes its default scenario; a field
// the form does not carry is left as it is.
func (s *Server) consoleTeamSettings(w http.ResponseWriter, r *http.Request, v *view) error {
	t, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return apperr.New(apperr.Invalid, "the form could not be read")
	}
	var p team.TeamPatch
	if _, ok := r.PostForm["name"]; ok {
		name := r.PostForm.Get("name")
		p.Name = &name
	}
	if _, ok := r.PostForm["scenario"]; ok {
		sc := r.PostForm.Get("scenario")
		p.DefaultScenario = &sc
	}
	if t, err = s.cfg.Teams.UpdateTeam(r.Context(), t.ID, p); err != nil {
		return err
	}
	back := "/teams/" + t.ID
	if ref := sameSiteReferer(r); ref == "/teams/"+t.ID+"/escalation" {
		back = ref
	}
	return redirect(w, r, back, "Team settings saved.")
}

func (s *Server) consoleDeleteTeam(w http.ResponseWriter, r *http.Request, v *view) error {
	t, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	if r.PostFormValue("confirm") != "yes" {
		return apperr.New(apperr.Invalid, "Tick the box to confirm that team %s and everything it owns are deleted.", t.Name)
	}
	if err := s.cfg.Teams.DeleteTeam(r.Context(), t.ID); err != nil {
		return err
	}
	s.cfg.Log.Info("team deleted", "team_id", t.ID, "name", t.Name, "by", v.User.ID)
	return redirect(w, r, "/console", "Team "+t.Name+" was deleted.")
}
