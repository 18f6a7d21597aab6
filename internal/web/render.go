package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
)

//go:embed templates
var templateFS embed.FS

// parsePages parses each page in templates/ with the layout and partials.
func parsePages(funcs template.FuncMap) (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template, len(names))
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page with status 200.
func (s *Server) render(w http.ResponseWriter, v *view, page string, data any) error {
	v.Data = data
	s.renderStatus(w, v, http.StatusOK, page)
	return nil
}

// renderStatus renders into a buffer first, so that a template error gives
// a clean 500 rather than half a page.
func (s *Server) renderStatus(w http.ResponseWriter, v *view, status int, page string) {
	t, ok := s.pages[page]
	if !ok {
		s.cfg.Log.Error("no such page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.cfg.Log.Error("render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages hold private data: never cached by a proxy, and not kept by the
	// browser for the back button after sign-out.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Default().Debug("write json", "err", err)
	}
}

// funcs are the helpers templates share. Times are shown in the signed-in
// user's time zone.
func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":       s.assetURL,
		"sevClass":    sevClass,
		"statusLabel": statusLabel,
		"when":        func(loc string, t any) string { return whenIn(s.zones.get(loc), t) },
		"ago":         func(t time.Time) string { return ago(s.cfg.Clock.Now(), t) },
		"dict":        dict,
		"initials":    initials,
		"join":        strings.Join,
		"lower":       strings.ToLower,
	}
}

// sevClass maps a severity to the one colour used for it everywhere.
// The inbox orders by alert.SeverityRank, so colour and order agree.
func sevClass(sev string) string {
	return [...]string{"sev-high", "sev-medium", "sev-low", "sev-info"}[alert.SeverityRank(sev)]
}

func statusLabel(st any) string {
	switch fmt.Sprint(st) {
	case "new":
		return "New"
	case "acknowledged":
		return "Acknowledged"
	case "closed":
		return "Closed"
	}
	return fmt.Sprint(st)
}

// when formats t in the location loc (an IANA name; UTC if empty or
// unknown).
func when(loc string, t any) string { return whenIn(zone(loc), t) }

// zone loads the time zone loc, UTC if empty or unknown.
func zone(loc string) *time.Location {
	l, err := time.LoadLocation(loc)
	if err != nil || loc == "" {
		return time.UTC
	}
	return l
}

// zones keeps the time zones pages have shown times in: loading one reads
// the system's zone files, and a timeline shows dozens of times.
type zones struct{ m sync.Map }

func (z *zones) get(loc string) *time.Location {
	if l, ok := z.m.Load(loc); ok {
		return l.(*time.Location)
	}
	l := zone(loc)
	z.m.Store(loc, l)
	return l
}

// whenIn formats t (a time.Time or *time.Time) in l.
func whenIn(l *time.Location, t any) string {
	var tt time.Time
	switch x := t.(type) {
	case time.Time:
		tt = x
	case *time.Time:
		if x == nil {
			return ""
		}
		tt = *x
	default:
		return ""
	}
	if tt.IsZero() {
		return ""
	}
	return tt.In(l).Format("Mon 2 Jan 15:04")
}

// ago says how long ago t was, in the words a person would use.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	case d < 14*24*time.Hour:
		return fmt.Sprintf("%d d ago", int(d.Hours()/24))
	}
	return t.Format("2 Jan 2006")
}

// dict builds a map for passing several values to a partial.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict needs key and value pairs")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func initials(name string) string {
	var out []rune
	for _, f := range strings.Fields(name) {
		for _, r := range f {
			out = append(out, r)
			break
		}
		if len(out) == 2 {
			break
		}
	}
	return strings.ToUpper(string(out))
}
