package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
)

// shellAssets are what the offline page needs, cached by the service worker
// when it installs.
func shellAssets() []string {
	return []string{"/assets/app.css", "/assets/app.js", "/assets/icons/icon.svg", "/assets/icons/icon-192.png"}
}

// offlinePage is what the service worker shows for a page it cannot fetch.
// It is built without the session on purpose: the worker keeps it, and what
// it keeps must hold nothing private (no name, no CSRF token).
func (s *Server) offlinePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &view{r: r, Title: "Offline", Nav: "offline", Bare: true}
		s.renderStatus(w, v, http.StatusOK, "offline")
	})
}

// shell is the service worker's list of URLs to keep for offline use. The
// worker cannot know the assets' content hashes; the version changes
// whenever one of them does, so it knows when to fetch them again.
type shell struct {
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
}

func (s *Server) shellList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh := shell{URLs: []string{"/offline"}}
		h := sha256.New()
		for _, a := range shellAssets() {
			u := s.assetURL(a)
			sh.URLs = append(sh.URLs, u)
			h.Write([]byte(u + "\n"))
		}
		for _, t := range []string{"templates/layout.html", "templates/offline.html"} {
			b, err := templateFS.ReadFile(t)
			if err != nil {
				s.cfg.Log.Error("read template for the offline shell", "template", t, "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			h.Write(b)
		}
		sh.Version = hex.EncodeToString(h.Sum(nil)[:8])
		writeJSON(w, http.StatusOK, sh)
	})
}
