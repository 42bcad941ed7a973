// Package temporalclient dials Temporal from the configuration and makes sure
// the namespace has the custom search attributes the product relies on.
package temporalclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/workflows"
)

// Dial connects to the configured Temporal frontend.
func Dial(ctx context.Context, cfg config.Config, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	opts := client.Options{
		HostPort:       cfg.TemporalAddress,
		Namespace:      cfg.TemporalNamespace,
		Logger:         sdklog.NewStructuredLogger(logger.With("component", "temporal-client")),
		MetricsHandler: metrics,
	}
	if cfg.TemporalTLSEnabled() {
		tlsConf, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		opts.ConnectionOptions.TLS = tlsConf
	}
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := client.DialContext(dialCtx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s; check TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, cfg.TemporalNamespace, err)
	}
	return c, nil
}

func tlsConfig(cfg config.Config) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TemporalTLSServer}
	if cfg.TemporalTLSCert != "" || cfg.TemporalTLSKey != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TemporalTLSCert, cfg.TemporalTLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	if cfg.TemporalTLSCA != "" {
		pem, err := os.ReadFile(cfg.TemporalTLSCA)
		if err != nil {
			return nil, fmt.Errorf("read TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA %s holds no PEM certificate", cfg.TemporalTLSCA)
		}
		t.RootCAs = pool
	}
	return t, nil
}

// EnsureSearchAttributes registers any missing custom search attribute.
// Registering is idempotent, so every worker may run it at start.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	existing, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of %s: %w", namespace, err)
	}
	req := &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: map[string]enumspb.IndexedValueType{}}
	for _, sa := range workflows.SearchAttributes {
		if _, ok := existing.GetCustomAttributes()[sa.Name]; !ok {
			req.SearchAttributes[sa.Name] = sa.Type
		}
	}
	if len(req.SearchAttributes) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, req); err != nil {
		return fmt.Errorf("add search attributes to %s: %w", namespace, err)
	}
	return nil
}
