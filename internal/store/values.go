package store

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// NewID returns a new row id: a UUIDv7, so ids sort by creation time and
// serve as paging cursors.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// Micros is how both dialects store a time: Unix microseconds, so ordering
// and arithmetic are the same everywhere.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros reads a stored time.
func FromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// OptTime reads a nullable stored time.
func OptTime(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := FromMicros(*v)
	return &t
}

// Placeholders returns n comma-separated '?' for an IN list.
func Placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// Args turns strings into query arguments.
func Args(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Claimable is a WHERE condition for claiming rows: those of table whose
// key is one of n placeholders and that meet cond. On PostgreSQL rows that
// another transaction holds are skipped, not waited for, so that instances
// claiming overlapping sets never deadlock; SQLite has one writer anyway.
func Claimable(d Dialect, table, key, cond string, n int) string {
	in := key + " IN (" + Placeholders(n) + ")"
	if d != Postgres {
		return cond + " AND " + in
	}
	return key + " IN (SELECT " + key + " FROM " + table + " WHERE " + cond + " AND " + in + " FOR UPDATE SKIP LOCKED)"
}
