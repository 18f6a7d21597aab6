package web

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

// consoleCategory is a category as the page shows it.
type consoleCategory struct {
	team.Category
	// Swatch is the colour when it is one a colour input can show.
	Swatch string
	// Muted says the category is muted now, until MutedText (in the
	// viewer's time zone).
	Muted     bool
	MutedText string
}

type consoleCategoriesData struct {
	Team       team.Team
	Categories []consoleCategory
	Colors     []consoleOption
}

var consoleHexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// consoleColors are the colours offered for a new category: few and
// distinct, so they tell categories apart in light and dark mode alike.
func consoleColors() []consoleOption {
	return []consoleOption{
		{Value: "", Label: "No colour"}, {Value: "#d92d20", Label: "Red"}, {Value: "#f79009", Label: "Orange"},
		{Value: "#eaaa08", Label: "Yellow"}, {Value: "#17b26a", Label: "Green"}, {Value: "#2e90fa", Label: "Blue"},
		{Value: "#7a5af8", Label: "Purple"}, {Value: "#667085", Label: "Grey"},
	}
}

func (s *Server) consoleCategories(w http.ResponseWriter, r *http.Request, v *view) error {
	t, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	cs, err := s.cfg.Teams.Categories(r.Context(), s.cfg.DB, t.ID)
	if err != nil {
		return err
	}
	d := consoleCategoriesData{Team: t, Categories: []consoleCategory{}, Colors: consoleColors()}
	for _, c := range cs {
		cc := consoleCategory{Category: c, Muted: c.MutedAt(s.cfg.Clock.Now())}
		if cc.Muted {
			cc.MutedText = when(v.User.TimeZone, c.MutedUntil)
		}
		if consoleHexColor.MatchString(c.Color) {
			cc.Swatch = strings.ToLower(c.Color)
		}
		d.Categories = append(d.Categories, cc)
	}
	v.Title, v.Nav = t.Name+" · Categories", "console"
	return s.render(w, v, "team_categories", d)
}

// consoleKeywords splits the keywords field: one per line, or separated
// by commas. A keyword may hold a space ("host web01" looks only in the
// parameter "host"), so spaces do not split.
func consoleKeywords(raw string) []string {
	var out []string
	for _, line := range strings.Split(raw, "\n") {
		for _, k := range strings.Split(line, ",") {
			if k = strings.TrimSpace(k); k != "" {
				out = append(out, k)
			}
		}
	}
	return out
}

func (s *Server) consoleCreateCategory(w http.ResponseWriter, r *http.Request, v *view) error {
	t, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	color := strings.TrimSpace(r.PostFormValue("color"))
	if color != "" && !consoleHexColor.MatchString(color) {
		return apperr.New(apperr.Invalid, "Colour %q is not a colour like #2e90fa.", color)
	}
	kws := consoleKeywords(r.PostFormValue("keywords"))
	if len(kws) == 0 {
		return apperr.New(apperr.Invalid, "Enter at least one keyword: alerts are put in the category when their text contains it.")
	}
	c, err := s.cfg.Teams.CreateCategory(r.Context(), t.ID, team.NewCategory{Name: r.PostFormValue("name"), Color: color,
		Keywords: kws, MatchAll: r.PostFormValue("match") == "all"})
	if err != nil {
		return err
	}
	s.cfg.Log.Info("category created", "team_id", t.ID, "category_id", c.ID, "by", v.User.ID)
	return redirect(w, r, "/teams/"+t.ID+"/categories", "Category "+c.Name+" created.")
}

func (s *Server) consoleDeleteCategory(w http.ResponseWriter, r *http.Request, v *view) error {
	t, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	if err := s.cfg.Teams.DeleteCategory(r.Context(), t.ID, r.PathValue("categoryId")); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return apperr.New(apperr.NotFound, "That category does not exist any more.")
		}
		return err
	}
	s.cfg.Log.Info("category deleted", "team_id", t.ID, "category_id", r.PathValue("categoryId"), "by", v.User.ID)
	return redirect(w, r, "/teams/"+t.ID+"/categories", "Category deleted.")
}

// consoleMuteCategory mutes a category for the chosen time (maintenance),
// or unmutes it.
func (s *Server) consoleMuteCategory(w http.ResponseWriter, r *http.Request, v *view) error {
	t, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	action := r.PathValue("action")
	if action != "mute" && action != "unmute" {
		return notFound()
	}
	var d time.Duration
	if action == "mute" {
		minutes, err := strconv.Atoi(r.PostFormValue("minutes"))
		if err != nil || minutes < 1 {
			return apperr.New(apperr.Invalid, "Choose how long to mute the category for.")
		}
		d = time.Duration(minutes) * time.Minute
	}
	c, err := s.cfg.Teams.MuteCategory(r.Context(), t.ID, r.PathValue("categoryId"), d)
	if err != nil {
		return err
	}
	s.cfg.Log.Info("category mute changed", "team_id", t.ID, "category_id", c.ID, "muted_for", d.String(), "by", v.User.ID)
	msg := "Category " + c.Name + " notifies again."
	if d > 0 {
		msg = "Category " + c.Name + " is muted until " + when(v.User.TimeZone, c.MutedUntil) + ": its alerts notify nobody until then."
	}
	return redirect(w, r, "/teams/"+t.ID+"/categories", msg)
}
