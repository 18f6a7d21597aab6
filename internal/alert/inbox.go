package alert

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// SeverityWords ranks the severities senders use, most urgent first: a word
// in SeverityWords[0] is high, [1] medium, [2] low; anything else is info.
// The web app colours badges by the same lists, so order and colour agree.
var SeverityWords = [][]string{
	{"critical", "high", "error", "emergency", "alert", "fatal", "1"},
	{"medium", "warning", "warn", "major", "2"},
	{"low", "minor", "3"},
}

// SeverityRank is 0 for high severities, 1 medium, 2 low and 3 info.
func SeverityRank(sev string) int {
	sev = strings.ToLower(sev)
	for i, words := range SeverityWords {
		for _, w := range words {
			if w == sev {
				return i
			}
		}
	}
	return len(SeverityWords)
}

// sevRankSQL computes SeverityRank in SQL. The words are constants of this
// file, so quoting them here is safe.
var sevRankSQL = func() string {
	var b strings.Builder
	b.WriteString("CASE")
	for i, words := range SeverityWords {
		fmt.Fprintf(&b, " WHEN LOWER(severity) IN ('%s') THEN %d", strings.Join(words, "', '"), i)
	}
	fmt.Fprintf(&b, " ELSE %d END", len(SeverityWords))
	return b.String()
}()

const statusRankSQL = `CASE status WHEN 'new' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END`

// InboxFilter selects a person's inbox.
type InboxFilter struct {
	TeamIDs  []string // nil: all teams; empty: none
	Statuses []Status // empty: open (new and acknowledged)
	Search   string   // in title and text, case-insensitive
	Cursor   string   // from the previous page
	Limit    int
}

// inboxCursor is where a page ended in the inbox order.
type inboxCursor struct {
	status, sev int
	id          string
}

func (c inboxCursor) String() string { return fmt.Sprintf("%d.%d.%s", c.status, c.sev, c.id) }

func parseInboxCursor(s string) (inboxCursor, error) {
	parts := strings.SplitN(s, ".", 3)
	bad := apperr.New(apperr.Invalid, "the page link is damaged; start again from the first page")
	if len(parts) != 3 || parts[2] == "" || len(parts[2]) > 64 {
		return inboxCursor{}, bad
	}
	st, err1 := strconv.Atoi(parts[0])
	sv, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || st < 0 || st > 2 || sv < 0 || sv > len(SeverityWords) {
		return inboxCursor{}, bad
	}
	return inboxCursor{st, sv, parts[2]}, nil
}

// inboxWhere builds the conditions the list and its counts share.
func inboxWhere(teamIDs []string, search string) ([]string, []any) {
	var where []string
	var args []any
	if teamIDs != nil {
		where = append(where, `team_id IN (`+store.Placeholders(len(teamIDs))+`)`)
		args = append(args, store.Args(teamIDs)...)
	}
	if search != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(search)) + "%"
		where, args = append(where, `(LOWER(title) LIKE ? ESCAPE '\' OR LOWER(text) LIKE ? ESCAPE '\')`), append(args, like, like)
	}
	return where, args
}

// Inbox lists alerts in the order people work them: new before
// acknowledged before closed, the most severe first within a status, then
// the newest. A list of closed alerts only is simply newest first. It
// returns the cursor of the next page ("" at the end).
//
// It reads in two steps: the page's ids in order, from the few columns the
// order needs (an index holding team, status, severity and id answers that
// without reading the alerts), then those alerts in full.
func (s *Service) Inbox(ctx context.Context, f InboxFilter) ([]Alert, string, error) {
	if f.TeamIDs != nil && len(f.TeamIDs) == 0 {
		return []Alert{}, "", nil
	}
	if f.Limit <= 0 || f.Limit > MaxPage {
		f.Limit = 50
	}
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = []Status{StatusNew, StatusAcknowledged}
	}
	where, args := inboxWhere(f.TeamIDs, f.Search)
	where = append(where, `status IN (`+store.Placeholders(len(statuses))+`)`)
	for _, st := range statuses {
		if !st.Valid() {
			return nil, "", apperr.New(apperr.Invalid, "status %q: use new, acknowledged or closed", st)
		}
		args = append(args, string(st))
	}
	byUrgency := len(statuses) != 1 || statuses[0] != StatusClosed
	if f.Cursor != "" {
		c, err := parseInboxCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		if byUrgency {
			where = append(where, `(sr > ? OR (sr = ? AND (sv > ? OR (sv = ? AND id < ?))))`)
			args = append(args, c.status, c.status, c.sev, c.sev, c.id)
		} else {
			where, args = append(where, `id < ?`), append(args, c.id)
		}
	}
	order := `id DESC`
	if byUrgency {
		order = `sr, sv, id DESC`
	}
	// The ranks are computed in the inner query so the outer one can both
	// filter (the cursor) and sort by them.
	q := `SELECT id, sr, sv FROM (SELECT id, team_id, status, title, text, ` + statusRankSQL + ` AS sr, ` + sevRankSQL + ` AS sv FROM alerts) x
		WHERE ` + strings.Join(where, ` AND `) + fmt.Sprintf(` ORDER BY %s LIMIT %d`, order, f.Limit+1)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list inbox: %w", err)
	}
	var keys []inboxCursor
	for rows.Next() {
		var c inboxCursor
		if err := rows.Scan(&c.id, &c.status, &c.sev); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("list inbox: %w", err)
		}
		keys = append(keys, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list inbox: %w", err)
	}
	next := ""
	if len(keys) > f.Limit {
		keys, next = keys[:f.Limit], keys[f.Limit-1].String()
	}
	out, err := s.byIDs(ctx, keys)
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// byIDs reads the alerts of keys, in the order of keys.
func (s *Service) byIDs(ctx context.Context, keys []inboxCursor) ([]Alert, error) {
	out := make([]Alert, 0, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	rows, err := s.db.Query(ctx, `SELECT `+alertCols+` FROM alerts WHERE id IN (`+store.Placeholders(len(ids))+`)`, store.Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("read inbox alerts: %w", err)
	}
	defer rows.Close()
	byID := make(map[string]Alert, len(ids))
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("read inbox alerts: %w", err)
		}
		byID[a.ID] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read inbox alerts: %w", err)
	}
	for _, id := range ids {
		if a, ok := byID[id]; ok { // deleted between the two reads: left out
			out = append(out, a)
		}
	}
	return out, nil
}

// InboxCounts counts the open alerts of each status among the teams'
// alerts that match search, and the closed ones up to closedCap+1: closed
// alerts pile up for years, and "more than closedCap" is all a chip needs
// to say. With closedCap 0 closed alerts are not counted (-1).
func (s *Service) InboxCounts(ctx context.Context, teamIDs []string, search string, closedCap int) (map[Status]int, error) {
	out := map[Status]int{StatusNew: 0, StatusAcknowledged: 0, StatusClosed: 0}
	if teamIDs != nil && len(teamIDs) == 0 {
		return out, nil
	}
	where, args := inboxWhere(teamIDs, search)
	cond := strings.Join(append(where, `status IN ('new', 'acknowledged')`), ` AND `)
	rows, err := s.db.Query(ctx, `SELECT status, COUNT(*) FROM alerts WHERE `+cond+` GROUP BY status`, args...)
	if err != nil {
		return nil, fmt.Errorf("count inbox: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st Status
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count inbox: %w", err)
		}
		out[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count inbox: %w", err)
	}
	if closedCap <= 0 {
		out[StatusClosed] = -1
		return out, nil
	}
	cond = strings.Join(append(where, `status = 'closed'`), ` AND `)
	var closed int
	if err := s.db.QueryRow(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM (SELECT 1 FROM alerts WHERE %s LIMIT %d) x`, cond, closedCap+1), args...).Scan(&closed); err != nil {
		return nil, fmt.Errorf("count closed alerts: %w", err)
	}
	out[StatusClosed] = closed
	return out, nil
}
