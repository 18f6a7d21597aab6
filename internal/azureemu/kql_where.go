package azureemu

import (
	"strings"
	"time"
)

// where supports conditions joined by and/or (and binds tighter).
func (r *kqlResult) where(arg string, now time.Time) *kqlError {
	var groups [][]kqlCond
	for _, orPart := range splitWord(arg, "or") {
		var group []kqlCond
		for _, andPart := range splitWord(orPart, "and") {
			cond, err := r.parseCond(strings.TrimSpace(andPart), now)
			if err != nil {
				return err
			}
			group = append(group, cond)
		}
		groups = append(groups, group)
	}
	var kept [][]any
	for _, row := range r.rows {
		for _, g := range groups {
			all := true
			for _, c := range g {
				if !c.match(row) {
					all = false
					break
				}
			}
			if all {
				kept = append(kept, row)
				break
			}
		}
	}
	r.rows = kept
	return nil
}

// splitWord splits on a keyword surrounded by spaces, outside quotes.
func splitWord(s, word string) []string {
	var out []string
	var quote byte
	start := 0
	needle := " " + word + " "
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case strings.HasPrefix(strings.ToLower(s[i:]), needle):
			out = append(out, s[start:i])
			start = i + len(needle)
			i += len(needle) - 1
		}
	}
	return append(out, s[start:])
}

type kqlCond struct {
	col int
	op  string
	val any
}

var kqlOps = []string{"!contains", "contains", "startswith", "has", "==", "!=", "=~", "!~", ">=", "<=", ">", "<"}

func (r *kqlResult) parseCond(s string, now time.Time) (kqlCond, *kqlError) {
	for _, op := range kqlOps {
		var i int
		if op[0] >= 'a' && op[0] <= 'z' || op[0] == '!' && op[1] >= 'a' {
			i = strings.Index(strings.ToLower(s), " "+op+" ")
			if i >= 0 {
				i++
			}
		} else {
			i = strings.Index(s, op)
		}
		if i < 0 {
			continue
		}
		name := strings.TrimSpace(s[:i])
		c := r.col(name)
		if c < 0 {
			return kqlCond{}, semantic("'where' operator: Failed to resolve column or scalar expression named '%s'", name)
		}
		v, _, err := kqlLiteral(s[i+len(op):], now)
		if err != nil {
			return kqlCond{}, err
		}
		return kqlCond{col: c, op: op, val: v}, nil
	}
	return kqlCond{}, syntax("unsupported 'where' condition '%s'", s)
}

func (c kqlCond) match(row []any) bool {
	v := row[c.col]
	switch c.op {
	case "contains", "has":
		return strings.Contains(strings.ToLower(kqlString(v)), strings.ToLower(kqlString(c.val)))
	case "!contains":
		return !strings.Contains(strings.ToLower(kqlString(v)), strings.ToLower(kqlString(c.val)))
	case "startswith":
		return strings.HasPrefix(strings.ToLower(kqlString(v)), strings.ToLower(kqlString(c.val)))
	case "=~":
		return strings.EqualFold(kqlString(v), kqlString(c.val))
	case "!~":
		return !strings.EqualFold(kqlString(v), kqlString(c.val))
	}
	if v == nil {
		return c.op == "!="
	}
	cmp := kqlCompare(v, c.val)
	switch c.op {
	case "==":
		return cmp == 0
	case "!=":
		return cmp != 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	}
	return false
}
