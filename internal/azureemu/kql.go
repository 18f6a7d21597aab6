package azureemu

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A tiny KQL subset, enough for health checks and reading back rows:
//
//	print 1 | print x=1, y="a"
//	T [| where c == "v" [and|or c2 > 3]] [| project a, b] [| order by c desc]
//	  [| take N | limit N | top N by c] [| count]
//
// where supports == != =~ !~ contains !contains has startswith > >= < <=
// with string, number, bool, datetime(...), now() and ago(...) values.
// Anything else is a semantic error, so a connector's real query must be
// registered with SetQueryResult.

type kqlError struct {
	code string // SyntaxError | SemanticError
	msg  string
}

func (e *kqlError) Error() string { return e.msg }

func semantic(format string, a ...any) *kqlError {
	return &kqlError{code: "SemanticError", msg: fmt.Sprintf(format, a...)}
}

func syntax(format string, a ...any) *kqlError {
	return &kqlError{code: "SyntaxError", msg: fmt.Sprintf(format, a...)}
}

// splitPipes splits on | outside quotes.
func splitPipes(q string) []string {
	var parts []string
	var cur strings.Builder
	var quote byte
	for i := 0; i < len(q); i++ {
		ch := q[i]
		switch {
		case quote != 0:
			cur.WriteByte(ch)
			if ch == '\\' && i+1 < len(q) {
				i++
				cur.WriteByte(q[i])
			} else if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
			cur.WriteByte(ch)
		case ch == '|':
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	return append(parts, strings.TrimSpace(cur.String()))
}

func stripComments(q string) string {
	var lines []string
	for _, l := range strings.Split(q, "\n") {
		if i := strings.Index(l, "//"); i >= 0 && !strings.ContainsAny(l[:i], `"'`) {
			l = l[:i]
		}
		lines = append(lines, l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// kqlResult is an intermediate result: named, typed columns and rows.
type kqlResult struct {
	cols []Column
	rows [][]any
}

func (r *kqlResult) col(name string) int {
	return slices.IndexFunc(r.cols, func(c Column) bool { return c.Name == name })
}

// runKQL evaluates q over a workspace's tables.
func runKQL(q string, d *wsData, span timeRange, now time.Time) (*kqlResult, *kqlError) {
	stages := splitPipes(stripComments(q))
	if stages[0] == "" {
		return nil, syntax("Query could not be parsed at '|' on line [1,0]")
	}
	var res *kqlResult
	first := stages[0]
	if w, rest, _ := strings.Cut(first, " "); strings.EqualFold(w, "print") {
		var err *kqlError
		if res, err = kqlPrint(rest, now); err != nil {
			return nil, err
		}
	} else {
		if !isIdent(first) {
			return nil, syntax("Query could not be parsed at '%s'", first)
		}
		t := d.lookup(first)
		if t == nil {
			return nil, semantic("'%s' operator: Failed to resolve table or column expression named '%s'", "table", first)
		}
		res = &kqlResult{cols: slices.Clone(t.cols)}
		_, hasTG := t.idx["TimeGenerated"]
		for _, row := range t.rows {
			if hasTG && span.set {
				if ts, ok := row["TimeGenerated"].(time.Time); ok && !span.contains(ts) {
					continue
				}
			}
			vals := make([]any, len(t.cols))
			for i, c := range t.cols {
				vals[i] = row[c.Name]
			}
			res.rows = append(res.rows, vals)
		}
	}
	for _, st := range stages[1:] {
		op, arg, _ := strings.Cut(st, " ")
		arg = strings.TrimSpace(arg)
		var err *kqlError
		switch strings.ToLower(op) {
		case "where":
			err = res.where(arg, now)
		case "take", "limit":
			err = res.take(arg)
		case "project":
			err = res.project(arg)
		case "order", "sort":
			a, ok := strings.CutPrefix(arg, "by ")
			if !ok {
				return nil, syntax("expected 'by' after '%s'", op)
			}
			err = res.orderBy(strings.TrimSpace(a))
		case "top":
			n, by, ok := strings.Cut(arg, " by ")
			if !ok {
				return nil, syntax("expected 'by' in 'top'")
			}
			if err = res.orderBy(strings.TrimSpace(by)); err == nil {
				err = res.take(strings.TrimSpace(n))
			}
		case "count":
			res = &kqlResult{cols: []Column{{Name: "Count", Type: "long"}}, rows: [][]any{{int64(len(res.rows))}}}
		default:
			return nil, semantic("the Azure emulator does not support the '%s' operator; register this query with SetQueryResult", op)
		}
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func kqlPrint(arg string, now time.Time) (*kqlResult, *kqlError) {
	res := &kqlResult{rows: [][]any{{}}}
	for i, item := range splitTop(arg, ',') {
		item = strings.TrimSpace(item)
		name := "print_" + strconv.Itoa(i)
		if n, v, ok := strings.Cut(item, "="); ok && isIdent(strings.TrimSpace(n)) && !strings.HasPrefix(v, "=") {
			name, item = strings.TrimSpace(n), strings.TrimSpace(v)
		}
		val, typ, err := kqlLiteral(item, now)
		if err != nil {
			return nil, err
		}
		res.cols = append(res.cols, Column{Name: name, Type: typ})
		res.rows[0] = append(res.rows[0], val)
	}
	if len(res.cols) == 0 {
		return nil, syntax("'print' needs an expression")
	}
	return res, nil
}

// splitTop splits on sep outside quotes and parentheses.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case ch == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// kqlLiteral parses a scalar: number, string, bool, datetime(), now(), ago().
func kqlLiteral(s string, now time.Time) (any, string, *kqlError) {
	s = strings.TrimSpace(s)
	switch {
	case len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\''):
		return strings.ReplaceAll(s[1:len(s)-1], `\"`, `"`), "string", nil
	case s == "true" || s == "false":
		return s == "true", "bool", nil
	case s == "now()":
		return now, "datetime", nil
	case strings.HasPrefix(s, "datetime(") && strings.HasSuffix(s, ")"):
		t, err := parseInstant(strings.Trim(s[len("datetime("):len(s)-1], `"' `))
		if err != nil {
			return nil, "", syntax("invalid datetime literal %s", s)
		}
		return t, "datetime", nil
	case strings.HasPrefix(s, "ago(") && strings.HasSuffix(s, ")"):
		d, err := kqlTimespan(s[len("ago(") : len(s)-1])
		if err != nil {
			return nil, "", err
		}
		return now.Add(-d), "datetime", nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, "long", nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, "real", nil
	}
	return nil, "", semantic("Failed to resolve scalar expression named '%s'", s)
}

// kqlTimespan reads 1d, 2h, 30m, 10s, 100ms.
func kqlTimespan(s string) (time.Duration, *kqlError) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		d      time.Duration
	}{{"ms", time.Millisecond}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err == nil {
				return time.Duration(f * float64(u.d)), nil
			}
		}
	}
	return 0, syntax("invalid timespan literal '%s'", s)
}

func (r *kqlResult) take(arg string) *kqlError {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil || n < 0 {
		return syntax("'take' expects a non-negative integer, got '%s'", arg)
	}
	if n < len(r.rows) {
		r.rows = r.rows[:n]
	}
	return nil
}

func (r *kqlResult) project(arg string) *kqlError {
	var cols []Column
	var idx []int
	for _, name := range strings.Split(arg, ",") {
		name = strings.TrimSpace(name)
		i := r.col(name)
		if i < 0 {
			return semantic("'project' operator: Failed to resolve scalar expression named '%s'", name)
		}
		cols = append(cols, r.cols[i])
		idx = append(idx, i)
	}
	rows := make([][]any, len(r.rows))
	for j, row := range r.rows {
		for _, i := range idx {
			rows[j] = append(rows[j], row[i])
		}
	}
	r.cols, r.rows = cols, rows
	return nil
}

// orderBy sorts by one column; KQL's default direction is descending.
func (r *kqlResult) orderBy(arg string) *kqlError {
	f := strings.Fields(arg)
	if len(f) == 0 || len(f) > 2 {
		return syntax("invalid sort expression '%s'", arg)
	}
	i := r.col(f[0])
	if i < 0 {
		return semantic("'order' operator: Failed to resolve scalar expression named '%s'", f[0])
	}
	desc := len(f) == 1 || strings.EqualFold(f[1], "desc")
	slices.SortStableFunc(r.rows, func(a, b []any) int {
		c := kqlCompare(a[i], b[i])
		if desc {
			return -c
		}
		return c
	})
	return nil
}

func kqlCompare(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if af, ok := toFloat(a); ok {
		if bf, ok := toFloat(b); ok {
			switch {
			case af < bf:
				return -1
			case af > bf:
				return 1
			}
			return 0
		}
	}
	if at, ok := a.(time.Time); ok {
		if bt, ok := b.(time.Time); ok {
			return at.Compare(bt)
		}
	}
	return strings.Compare(kqlString(a), kqlString(b))
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// kqlString renders a value as KQL's tostring would.
func kqlString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		return armTime(x)
	case bool, int, int64, float64:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// wireValue converts a stored value to its JSON form in query results:
// datetimes as ISO strings, dynamic values as JSON text.
func wireValue(v any, typ string) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		return armTime(x)
	case map[string]any, []any, []string, []map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	if typ == "dynamic" {
		b, _ := json.Marshal(v)
		return string(b)
	}
	return v
}
