package azureemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
)

func (e *Emulator) incidentRelations(c *call, p principal, ap armPath, name, rel, scope string) {
	action := map[string]string{"alerts": actionAlertsRead, "entities": actionEntitiesRead, "bookmarks": actionBookmarksRead}[rel]
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.sentinelWorkspace(p, ap, action, scope+"/"+rel)
	if ws == nil {
		return
	}
	rec := c.incidentFor(ws, name)
	if rec == nil {
		return
	}
	switch rel {
	case "alerts":
		value := []map[string]any{}
		for _, a := range rec.inc.Alerts {
			value = append(value, alertJSON(ws, a))
		}
		c.json(http.StatusOK, map[string]any{"value": value})
	case "entities":
		ents := []map[string]any{}
		counts := map[string]int{}
		var kinds []string
		for _, en := range rec.inc.Entities {
			ents = append(ents, entityJSON(ws, en))
			if counts[en.Kind] == 0 {
				kinds = append(kinds, en.Kind)
			}
			counts[en.Kind]++
		}
		meta := []map[string]any{}
		for _, k := range kinds {
			meta = append(meta, map[string]any{"entityKind": k, "count": counts[k]})
		}
		c.json(http.StatusOK, map[string]any{"entities": ents, "metaData": meta})
	default:
		c.json(http.StatusOK, map[string]any{"value": []any{}})
	}
}

func (e *Emulator) listComments(c *call, p principal, ap armPath, name, scope string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.sentinelWorkspace(p, ap, actionCommentRead, scope)
	if ws == nil {
		return
	}
	rec := c.incidentFor(ws, name)
	if rec == nil {
		return
	}
	value := []map[string]any{}
	for _, cm := range rec.comments {
		value = append(value, commentJSON(rec, cm))
	}
	c.json(http.StatusOK, map[string]any{"value": value})
}

func (e *Emulator) getComment(c *call, p principal, ap armPath, name, id, scope string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.sentinelWorkspace(p, ap, actionCommentRead, scope)
	if ws == nil {
		return
	}
	rec := c.incidentFor(ws, name)
	if rec == nil {
		return
	}
	for _, cm := range rec.comments {
		if strings.EqualFold(cm.Name, id) {
			c.json(http.StatusOK, commentJSON(rec, cm))
			return
		}
	}
	c.cloudError(http.StatusNotFound, "NotFound", "Comment '"+id+"' was not found.")
}

// maxCommentLength is Sentinel's limit on a comment's message.
const maxCommentLength = 30000

// putComment adds or edits a comment. Like Sentinel, adding a comment
// counts as a change to the incident: its lastModifiedTimeUtc and etag move
// on, so a client holding an older etag gets 409 on its next PUT.
func (e *Emulator) putComment(c *call, p principal, ap armPath, name, id, scope string) {
	body, err := c.readBody(1 << 20)
	if err != nil {
		c.cloudError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request content is too large.")
		return
	}
	var in struct {
		Properties *struct {
			Message *string `json:"message"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		c.cloudError(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: '"+err.Error()+"'.")
		return
	}
	if in.Properties == nil || strings.TrimSpace(deref(in.Properties.Message)) == "" {
		c.cloudError(http.StatusBadRequest, "BadRequest", "The Message field is required.")
		return
	}
	msg := *in.Properties.Message
	if len([]rune(msg)) > maxCommentLength {
		c.cloudError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("The Message field must be at most %d characters.", maxCommentLength))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.sentinelWorkspace(p, ap, actionCommentWrite, scope)
	if ws == nil {
		return
	}
	rec := c.incidentFor(ws, name)
	if rec == nil {
		return
	}
	now := e.now()
	status := http.StatusCreated
	i := slices.IndexFunc(rec.comments, func(cm Comment) bool { return strings.EqualFold(cm.Name, id) })
	if i >= 0 {
		status = http.StatusOK
		rec.comments[i].Message = msg
		rec.comments[i].LastModified = now
		rec.comments[i].ETag = uuid.NewString()
	} else {
		author := CommentAuthor{Name: p.claims.AppID}
		if p.app != nil {
			author = CommentAuthor{ObjectID: p.app.ObjectID, Name: p.app.DisplayName}
		}
		rec.comments = append(rec.comments, Comment{Name: id, Message: msg, Author: author, Created: now, LastModified: now, ETag: uuid.NewString()})
		i = len(rec.comments) - 1
	}
	rec.inc.LastModified = now
	rec.inc.ETag = newETag()
	e.st.data(ws).table("SecurityIncident").add(securityIncidentRow(rec, p.claims.AppID))
	c.json(status, commentJSON(rec, rec.comments[i]))
}

func (e *Emulator) deleteComment(c *call, p principal, ap armPath, name, id, scope string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.sentinelWorkspace(p, ap, actionCommentDelete, scope)
	if ws == nil {
		return
	}
	rec := c.incidentFor(ws, name)
	if rec == nil {
		return
	}
	i := slices.IndexFunc(rec.comments, func(cm Comment) bool { return strings.EqualFold(cm.Name, id) })
	if i < 0 {
		c.empty(http.StatusNoContent)
		return
	}
	rec.comments = slices.Delete(rec.comments, i, i+1)
	c.empty(http.StatusOK)
}
