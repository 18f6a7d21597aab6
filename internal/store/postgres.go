package store

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

func openPostgres(rawURL string, opt Options) (*DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse postgres URL: %w", err)
	}
	sc := strings.ToLower(opt.PostgresSynchronousCommit)
	switch sc {
	case "":
	case "on", "off", "local", "remote_write", "remote_apply":
		cfg.RuntimeParams["synchronous_commit"] = sc
	default:
		return nil, fmt.Errorf("postgres synchronous_commit %q: use on, off, local, remote_write or remote_apply", opt.PostgresSynchronousCommit)
	}
	p := stdlib.OpenDB(*cfg)
	p.SetMaxOpenConns(opt.MaxConns)
	p.SetMaxIdleConns(opt.MaxConns)
	return &DB{dialect: Postgres, write: p, read: p}, nil
}
