package app

import "github.com/lastmile/lastmile/internal/connector"

// connectorKinds are the kinds of connector this server offers.
func (a *App) connectorKinds() []connector.Kind {
	return nil
}
