package web

import (
	"context"
	"log/slog"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
)

type hub struct{}

func newHub(db *store.DB, c clock.Clock, log *slog.Logger) *hub { return &hub{} }

func (h *hub) run(ctx context.Context) { <-ctx.Done() }

func (h *hub) poke() {}
