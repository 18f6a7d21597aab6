package azureemu

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A small OData $filter/$orderby implementation: comparisons (eq ne gt ge
// lt le, and "in"), and/or/not and parentheses over a fixed set of fields
// per entity. Anything else is refused so that a client depending on an
// unsupported construct finds out in tests.

type fieldKind int

const (
	kindString fieldKind = iota // compared case-sensitively
	kindEnum                    // compared case-insensitively
	kindTime
	kindNumber
)

type filterSchema struct {
	entity string               // for messages, e.g. microsoft.graph.security.incident
	fields map[string]fieldKind // filterable properties by path
	// foldNames makes property names case-insensitive (ARM); Graph is
	// case-sensitive.
	foldNames bool
	// quotedTimes accepts 'quoted' datetimes as well as bare ones (ARM is
	// lenient); Graph refuses them as a type mismatch.
	quotedTimes bool
}

func (s filterSchema) field(name string) (string, fieldKind, bool) {
	if k, ok := s.fields[name]; ok {
		return name, k, true
	}
	if s.foldNames {
		for f, k := range s.fields {
			if strings.EqualFold(f, name) {
				return f, k, true
			}
		}
	}
	return "", 0, false
}

// getter returns a field's value: string, time.Time, float64 or nil.
type getter func(field string) any

type filterExpr interface {
	eval(get getter) bool
}

type andExpr struct{ l, r filterExpr }
type orExpr struct{ l, r filterExpr }
type notExpr struct{ x filterExpr }
type cmpExpr struct {
	field string
	kind  fieldKind
	op    string
	vals  []any // one value, or several for "in"
}

func (x andExpr) eval(g getter) bool { return x.l.eval(g) && x.r.eval(g) }
func (x orExpr) eval(g getter) bool  { return x.l.eval(g) || x.r.eval(g) }
func (x notExpr) eval(g getter) bool { return !x.x.eval(g) }

func (x cmpExpr) eval(g getter) bool {
	v := g(x.field)
	if x.op == "in" {
		for _, want := range x.vals {
			if compare(v, want, x.kind) == 0 {
				return true
			}
		}
		return false
	}
	want := x.vals[0]
	if v == nil || want == nil {
		eq := v == nil && want == nil
		switch x.op {
		case "eq":
			return eq
		case "ne":
			return !eq
		}
		return false
	}
	c := compare(v, want, x.kind)
	switch x.op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

// compare orders a against b; values of different types compare unequal.
func compare(a, b any, kind fieldKind) int {
	switch av := a.(type) {
	case time.Time:
		bv, ok := b.(time.Time)
		if !ok {
			return 2
		}
		return av.Compare(bv)
	case float64:
		bv, ok := b.(float64)
		if !ok {
			return 2
		}
		switch {
		case av < bv:
			return -1
		case av > bv:
			return 1
		}
		return 0
	case string:
		bv, ok := b.(string)
		if !ok {
			return 2
		}
		if kind == kindEnum {
			av, bv = strings.ToLower(av), strings.ToLower(bv)
		}
		return strings.Compare(av, bv)
	}
	if a == nil && b == nil {
		return 0
	}
	return 2
}

// token kinds of the filter lexer
type ftok struct {
	kind string // "(" ")" "," "str" "word"
	val  string
}

func lexFilter(s string) ([]ftok, error) {
	var out []ftok
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			i++
		case ch == '(' || ch == ')' || ch == ',':
			out = append(out, ftok{kind: string(ch)})
			i++
		case ch == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, errors.New("unterminated string literal")
			}
			out = append(out, ftok{kind: "str", val: b.String()})
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t(),'", rune(s[j])) {
				j++
			}
			out = append(out, ftok{kind: "word", val: s[i:j]})
			i = j
		}
	}
	return out, nil
}

type filterParser struct {
	toks []ftok
	pos  int
	sch  filterSchema
}

// parseFilter compiles an OData $filter against a schema.
func parseFilter(s string, sch filterSchema) (filterExpr, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, errors.New("empty filter")
	}
	p := &filterParser{toks: toks, sch: sch}
	x, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("syntax error at position %d near '%s'", p.pos, p.toks[p.pos].val)
	}
	return x, nil
}

func (p *filterParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == "word" && strings.EqualFold(p.toks[p.pos].val, w)
}

func (p *filterParser) or() (filterExpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peekWord("or") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *filterParser) and() (filterExpr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peekWord("and") {
		p.pos++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *filterParser) unary() (filterExpr, error) {
	if p.pos >= len(p.toks) {
		return nil, errors.New("unexpected end of filter")
	}
	if p.peekWord("not") {
		p.pos++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{x}, nil
	}
	if p.toks[p.pos].kind == "(" {
		p.pos++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != ")" {
			return nil, errors.New("')' expected")
		}
		p.pos++
		return x, nil
	}
	return p.comparison()
}

func (p *filterParser) comparison() (filterExpr, error) {
	t := p.toks[p.pos]
	if t.kind != "word" {
		return nil, fmt.Errorf("property name expected, found '%s'", t.val)
	}
	if p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == "(" {
		return nil, fmt.Errorf("the function '%s' is not supported", t.val)
	}
	field, kind, ok := p.sch.field(t.val)
	if !ok {
		return nil, fmt.Errorf("could not find a property named '%s' on type '%s' that supports filtering", t.val, p.sch.entity)
	}
	p.pos++
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != "word" {
		return nil, errors.New("comparison operator expected after '" + t.val + "'")
	}
	op := strings.ToLower(p.toks[p.pos].val)
	p.pos++
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
		if p.pos >= len(p.toks) {
			return nil, errors.New("value expected after '" + op + "'")
		}
		v, err := p.literal(p.toks[p.pos], kind, op)
		if err != nil {
			return nil, err
		}
		p.pos++
		return cmpExpr{field: field, kind: kind, op: op, vals: []any{v}}, nil
	case "in":
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != "(" {
			return nil, errors.New("'(' expected after 'in'")
		}
		p.pos++
		var vals []any
		for {
			if p.pos >= len(p.toks) {
				return nil, errors.New("')' expected")
			}
			v, err := p.literal(p.toks[p.pos], kind, op)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
			p.pos++
			if p.pos < len(p.toks) && p.toks[p.pos].kind == "," {
				p.pos++
				continue
			}
			if p.pos < len(p.toks) && p.toks[p.pos].kind == ")" {
				p.pos++
				break
			}
			return nil, errors.New("',' or ')' expected")
		}
		return cmpExpr{field: field, kind: kind, op: "in", vals: vals}, nil
	}
	return nil, fmt.Errorf("unsupported operator '%s'", op)
}

func (p *filterParser) literal(t ftok, kind fieldKind, op string) (any, error) {
	if t.kind == "word" && t.val == "null" {
		return nil, nil
	}
	switch kind {
	case kindTime:
		if t.kind == "str" && !p.sch.quotedTimes {
			return nil, fmt.Errorf("a binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind '%s'", opName(op))
		}
		if t.kind != "word" && t.kind != "str" {
			return nil, errors.New("datetime value expected")
		}
		ts, err := time.Parse(time.RFC3339Nano, t.val)
		if err != nil {
			return nil, fmt.Errorf("the DateTimeOffset text '%s' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?'", t.val)
		}
		return ts, nil
	case kindNumber:
		f, err := strconv.ParseFloat(t.val, 64)
		if t.kind != "word" || err != nil {
			return nil, fmt.Errorf("number expected, found '%s'", t.val)
		}
		return f, nil
	default:
		if t.kind != "str" {
			return nil, fmt.Errorf("could not find a property named '%s'; string values must be in single quotes", t.val)
		}
		return t.val, nil
	}
}

func opName(op string) string {
	return map[string]string{"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
		"lt": "LessThan", "le": "LessThanOrEqual", "in": "In"}[op]
}

// orderKey is one $orderby term.
type orderKey struct {
	field string
	desc  bool
}

// parseOrderBy reads "path [asc|desc], ..." against the sortable fields.
func parseOrderBy(s string, sch filterSchema) ([]orderKey, error) {
	var keys []orderKey
	for _, term := range strings.Split(s, ",") {
		f := strings.Fields(term)
		if len(f) == 0 || len(f) > 2 {
			return nil, fmt.Errorf("invalid $orderby term '%s'", strings.TrimSpace(term))
		}
		name, _, ok := sch.field(f[0])
		if !ok {
			return nil, fmt.Errorf("could not find a property named '%s' on type '%s' that supports ordering", f[0], sch.entity)
		}
		k := orderKey{field: name}
		if len(f) == 2 {
			switch strings.ToLower(f[1]) {
			case "asc":
			case "desc":
				k.desc = true
			default:
				return nil, fmt.Errorf("invalid $orderby direction '%s'", f[1])
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// less orders two items by keys, with their getters.
func lessBy(keys []orderKey, a, b getter, kinds map[string]fieldKind) (bool, bool) {
	for _, k := range keys {
		av, bv := a(k.field), b(k.field)
		c := 0
		switch {
		case av == nil && bv == nil:
		case av == nil:
			c = -1
		case bv == nil:
			c = 1
		default:
			c = compare(av, bv, kinds[k.field])
			if c == 2 {
				c = 0
			}
		}
		if c != 0 {
			return (c < 0) != k.desc, true
		}
	}
	return false, false
}
