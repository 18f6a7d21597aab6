package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed assets
var assetFS embed.FS

// assets are served from memory. The style sheets in assets/css and the
// scripts in assets/js are joined into one app.css and one app.js, so a page
// loads two files however the code is split; every URL carries a hash of its
// content, so browsers may keep it for a year.
type assets struct {
	files map[string]asset // by URL path without the hash query
}

type asset struct {
	body  []byte
	ctype string
	hash  string
}

func loadAssets() (*assets, error) {
	a := &assets{files: map[string]asset{}}
	for _, bundle := range []struct{ name, dir, ctype string }{
		{"/assets/app.css", "assets/css", "text/css; charset=utf-8"},
		{"/assets/app.js", "assets/js", "text/javascript; charset=utf-8"},
	} {
		names, err := fs.Glob(assetFS, bundle.dir+"/*")
		if err != nil {
			return nil, err
		}
		sort.Strings(names)
		var buf bytes.Buffer
		for _, n := range names {
			b, err := assetFS.ReadFile(n)
			if err != nil {
				return nil, fmt.Errorf("read asset %s: %w", n, err)
			}
			fmt.Fprintf(&buf, "/* %s */\n", path.Base(n))
			buf.Write(b)
			buf.WriteByte('\n')
		}
		a.add(bundle.name, buf.Bytes(), bundle.ctype)
	}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "assets/css/") || strings.HasPrefix(p, "assets/js/") {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		url := "/" + p
		switch p {
		case "assets/sw.js":
			// The service worker must be served from the root to control
			// every page.
			url = "/sw.js"
		case "assets/manifest.webmanifest":
			url = "/manifest.webmanifest"
		}
		a.add(url, b, contentType(p))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load assets: %w", err)
	}
	return a, nil
}

func (a *assets) add(url string, body []byte, ctype string) {
	h := sha256.Sum256(body)
	a.files[url] = asset{body: body, ctype: ctype, hash: hex.EncodeToString(h[:6])}
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".webmanifest":
		return "application/manifest+json"
	case ".ico":
		return "image/x-icon"
	}
	return "application/octet-stream"
}

// assetURL is the URL of an asset with its content hash, for templates.
func (s *Server) assetURL(url string) string {
	f, ok := s.assets.files[url]
	if !ok {
		return url
	}
	return url + "?v=" + f.hash
}

// serveAsset serves an embedded file. Hashed URLs are immutable; the
// service worker and manifest are revalidated so updates reach browsers.
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	f, ok := s.assets.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	etag := `"` + f.hash + `"`
	h.Set("ETag", etag)
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.URL.Path == "/sw.js" {
		h.Set("Service-Worker-Allowed", "/")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
