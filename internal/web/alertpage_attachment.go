package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lastmile/lastmile/internal/alert"
)

// Attachments come from outside (monitoring tools, connectors): the web app
// shows a few image types inline and hands everything else over as a
// download, so nothing a sender uploads ever runs as a page of this site.

// inlineImage reports whether a browser may show the type in an <img>.
// SVG is not among them: it can carry script.
func inlineImage(ctype string) bool {
	mt, _, _ := mime.ParseMediaType(ctype)
	switch mt {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

func (s *Server) alertAttachment(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	a, err := s.visibleAlertFor(ctx, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	info, _, data, err := s.cfg.Alerts.Attachment(ctx, r.PathValue("attachmentId"))
	if err != nil {
		return err
	}
	if info.AlertID != a.ID {
		return notFound()
	}
	h := w.Header()
	disposition := "attachment"
	if inlineImage(info.ContentType) {
		mt, _, _ := mime.ParseMediaType(info.ContentType)
		h.Set("Content-Type", mt)
		disposition = "inline"
	} else {
		// A generic type and a download: a browser neither renders nor
		// sniffs it, whatever the sender claimed it was.
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("Content-Disposition", contentDisposition(disposition, info.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	if r.Method != http.MethodHead {
		w.Write(data)
	}
	return nil
}

// contentDisposition names the file safely: its base name only, and a
// plain fallback when the name cannot be encoded.
func contentDisposition(kind, name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" || !utf8.ValidString(name) {
		name = "attachment"
	}
	if v := mime.FormatMediaType(kind, map[string]string{"filename": name}); v != "" {
		return v
	}
	return kind + `; filename="attachment"`
}

// CSV attachments (a connector's query results) are shown as a table of
// their first rows.
const (
	csvPreviewRows  = 20
	csvPreviewBytes = 1 << 20
	csvCellChars    = 300
)

type csvPreview struct {
	Name   string
	ID     string
	Header []string
	Rows   [][]string
	// More says the file has rows beyond those shown.
	More bool
}

func isCSV(a alert.AttachmentInfo) bool {
	mt, _, _ := mime.ParseMediaType(a.ContentType)
	return mt == "text/csv" || strings.HasSuffix(strings.ToLower(a.Name), ".csv")
}

// csvPreview reads the first rows of a CSV attachment; one that is too big
// or not CSV at all is left as a download.
func (s *Server) csvPreview(ctx context.Context, at alert.AttachmentInfo) (csvPreview, bool) {
	if at.Size > csvPreviewBytes {
		return csvPreview{}, false
	}
	_, _, data, err := s.cfg.Alerts.Attachment(ctx, at.ID)
	if err != nil {
		s.cfg.Log.Warn("read attachment for preview", "attachment_id", at.ID, "err", err)
		return csvPreview{}, false
	}
	p, err := parseCSVPreview(data)
	if err != nil || p.Header == nil {
		return csvPreview{}, false
	}
	p.Name, p.ID = at.Name, at.ID
	return p, true
}

func parseCSVPreview(data []byte) (csvPreview, error) {
	rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	rd.FieldsPerRecord, rd.LazyQuotes = -1, true
	var p csvPreview
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			return csvPreview{}, err
		}
		for i, c := range rec {
			if !utf8.ValidString(c) {
				c = strings.ToValidUTF8(c, "\uFFFD")
			}
			if len([]rune(c)) > csvCellChars {
				c = string([]rune(c)[:csvCellChars]) + "…"
			}
			rec[i] = c
		}
		switch {
		case p.Header == nil:
			p.Header = rec
		case len(p.Rows) < csvPreviewRows:
			p.Rows = append(p.Rows, rec)
		default:
			p.More = true
			return p, nil
		}
	}
}
