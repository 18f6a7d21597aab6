package app

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/microsoft"
)

// connectorKinds are the kinds of connector this server offers.
func (a *App) connectorKinds() ([]connector.Kind, error) {
	client, err := connectorHTTP(a.cfg.ConnectorCAFile)
	if err != nil {
		return nil, err
	}
	return []connector.Kind{microsoft.Kind(microsoft.Options{HTTP: client, Clock: a.clock, Log: a.log})}, nil
}

// connectorHTTP is the client the connectors call Microsoft with: the
// system's roots, plus the CAs in caFile if given.
func connectorHTTP(caFile string) (*http.Client, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--connector-ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--connector-ca-file %s holds no PEM certificate", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}, nil
}
