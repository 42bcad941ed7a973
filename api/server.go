// Package api is the HTTP face of the product: the partner REST API under /v1,
// the admin routes, the customers' link pages and the health endpoints.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/metrics"
	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/microsoft/signin"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
)

// serverStore is what authentication and readiness read.
type serverStore interface {
	APIKeyByHash(ctx context.Context, hash string) (models.APIKey, models.Partner, error)
	Ping(ctx context.Context) error
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// Temporal is the part of the Temporal client the API uses.
type Temporal interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	GetWorkflow(ctx context.Context, workflowID string, runID string) client.WorkflowRun
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// Deps are what the API needs.
type Deps struct {
	Store    Store
	Temporal Temporal
	Config   config.Config
	Logger   *slog.Logger
	Metrics  *metrics.Metrics
	// DevMailbox serves /dev/mailbox (only in `onboarding dev`).
	DevMailbox bool
	// Secrets opens the sealed links of held e-mails for the dev mailbox.
	Secrets *secret.Keyring
	// PartnerCenter receives Partner Center's webhook deliveries.
	PartnerCenter PartnerCenterWebhooks
}

// Server holds the handlers' dependencies.
type Server struct {
	store    Store
	temporal Temporal
	cfg      config.Config
	logger   *slog.Logger
	metrics  *metrics.Metrics
	pages    *pageRenderer
	limits   limits
	secrets  *secret.Keyring
	routes   map[string]bool // the registered route templates
	// signin signs customers' administrators in with Microsoft (signin.go);
	// it reads Microsoft's metadata at its first use.
	signin *signin.Client

	partnerCenter PartnerCenterWebhooks
}

const maxBody = "64K"

// New builds the HTTP handler.
func New(d Deps) *echo.Echo {
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	s := &Server{store: d.Store, temporal: d.Temporal, cfg: d.Config, logger: d.Logger, metrics: d.Metrics, pages: newPageRenderer(),
		limits: newLimits(d.Config.RateLimits), secrets: d.Secrets, routes: map[string]bool{}, partnerCenter: d.PartnerCenter,
		signin: newSigninClient(d.Config)}
	if s.partnerCenter.Verifier == nil {
		s.partnerCenter.Verifier = partnercenter.NewVerifier(partnercenter.VerifierConfig{CertHosts: d.Config.PartnerCenter.WebhookCertHosts,
			MaxAge: d.Config.PartnerCenter.WebhookMaxAge, Logger: d.Logger}, d.Store)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Logger)
	// The consent evidence records the client's address: take it from the
	// connection, never from headers a client can forge.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(safeRequestID)
	e.Use(middleware.RequestID())
	e.Use(s.accessLog)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			d.Logger.Error("Handler panicked", "error", err, "path", c.Path(), "stack", string(stack))
			return problem(http.StatusInternalServerError, CodeInternal, "something went wrong on our side; it was logged")
		},
	}))
	e.Use(bodyLimit())
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ContentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
		ReferrerPolicy:        "no-referrer", // personal links must not leak through Referer
	}))
	e.Use(s.rateLimit) // before the spec's validation: an abusive client costs as little as possible
	if strings.HasPrefix(d.Config.PublicBaseURL, "https://") {
		// Served over https (at a proxy, typically): browsers must never
		// fall back to http for the personal links.
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				c.Response().Header().Set(echo.HeaderStrictTransportSecurity, "max-age=31536000; includeSubDomains")
				return next(c)
			}
		})
	}
	e.Use(s.enforceSpec)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/rules/:code", s.rule)
	e.GET("/openapi.json", s.openAPI)
	e.GET("/docs", s.docs)
	e.GET("/docs/redoc.standalone.js", s.redocJS)

	// The /v1 routes, their parameters and their typed requests and answers
	// are generated from api/openapi.yaml (api/oapi); Server implements them.
	oapi.RegisterHandlers(e, oapi.NewStrictHandler(s, nil))

	e.GET("/i/:token", s.invitationPage)
	e.POST("/i/:token/accept", s.answerInvitationPage)
	e.POST("/i/:token/decline", s.answerInvitationPage)
	e.GET("/i/:token/signin", s.invitationSignIn)
	e.GET("/c/:token/signin", s.consentSignIn)
	e.GET("/signin/callback", s.signInCallback)
	e.GET("/c/:token", s.consentPage)
	e.POST("/c/:token/consent", s.answerConsentPage)
	e.POST("/c/:token/decline", s.answerConsentPage)
	e.POST("/webhooks/partner-center", s.partnerCenterWebhook)
	if d.DevMailbox {
		e.GET("/dev/mailbox", s.devMailbox)
		e.POST("/dev/mailbox", s.devMailboxLogin)
	}
	// The route label of the metrics is one of these templates or
	// "unmatched": a path a client invents never becomes a series.
	for _, r := range e.Routes() {
		s.routes[r.Path] = true
	}
	return e
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports ready only when the database and Temporal both answer.
// The public answer says only that; what failed, and why, is logged and
// shown to a caller with the admin token (errors name hosts and users).
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "temporal": "ok"}
	status := http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		checks["database"], status = "unavailable: "+err.Error(), http.StatusServiceUnavailable
	}
	if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], status = "unavailable: "+err.Error(), http.StatusServiceUnavailable
	}
	if status != http.StatusOK {
		s.logger.WarnContext(ctx, "Not ready", "database", checks["database"], "temporal", checks["temporal"])
	}
	if key, ok := bearer(c); ok && s.cfg.AdminToken != "" && secret.Equal(key, s.cfg.AdminToken) {
		return c.JSON(status, checks)
	}
	if status != http.StatusOK {
		return c.JSON(status, map[string]string{"status": "not_ready"})
	}
	return c.JSON(status, map[string]string{"status": "ready"})
}

// requestIDPattern is what a client-sent X-Request-Id must look like to be
// kept: it ends up in logs next to consent evidence, so it is short and plain.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// safeRequestID drops a client's X-Request-Id that is not a short safe
// token, so that the RequestID middleware makes a new one.
func safeRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if v := h.Get(echo.HeaderXRequestID); v != "" && (!requestIDPattern.MatchString(v) || len(h.Values(echo.HeaderXRequestID)) > 1) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

func (s *Server) rule(c echo.Context) error {
	code := oapi.ProblemCode(c.Param("code")) // looked up, never trusted: unknown is a 404
	text, ok := RuleDescriptions[code]
	if !ok {
		if _, known := titles[code]; !known {
			return problem(http.StatusNotFound, CodeNotFound, "no rule named "+string(code))
		}
		text = titles[code]
	}
	return c.JSON(http.StatusOK, map[string]string{"code": string(code), "title": titles[code], "description": text})
}

// accessLog logs one line per request, with its request id and no secrets:
// paths of personal links are logged without their token.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if !s.routes[route] {
			route = "unmatched"
		}
		s.metrics.ObserveHTTP(route, c.Request().Method, c.Response().Status, time.Since(start))
		s.logger.InfoContext(c.Request().Context(), "HTTP request",
			"method", c.Request().Method, "route", route, "status", c.Response().Status,
			"duration_ms", time.Since(start).Milliseconds(),
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return nil
	}
}

type partnerKey struct{}

// authenticatePartner finds the partner by its API key and carries it in
// the request's context to the handler.
func (s *Server) authenticatePartner(c echo.Context) error {
	key, ok := bearer(c)
	if !ok {
		return problem(http.StatusUnauthorized, CodeUnauthorized, "send Authorization: Bearer <api key>")
	}
	ctx := c.Request().Context()
	k, p, err := s.store.APIKeyByHash(ctx, secret.Hash(key))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return problem(http.StatusUnauthorized, CodeUnauthorized, "this API key is not valid (unknown or revoked)")
		}
		return err
	}
	now := time.Now().UTC()
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return problem(http.StatusUnauthorized, CodeUnauthorized, "this API key expired at "+k.ExpiresAt.UTC().Format(time.RFC3339)+
			"; use your other key, or ask an operator for a new partner key")
	}
	if p.DisabledAt != nil {
		return problem(http.StatusUnauthorized, CodeUnauthorized, "this partner is disabled; ask an operator")
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= touchEvery {
		if err := s.store.TouchAPIKey(ctx, k.ID, now); err != nil {
			s.logger.WarnContext(ctx, "Could not record an API key's use", "key_id", k.ID, "error", err)
		}
	}
	ctx = context.WithValue(context.WithValue(ctx, partnerKey{}, p), apiKeyIDKey{}, k.ID)
	c.SetRequest(c.Request().WithContext(ctx))
	return nil
}

// authenticateAdmin checks the operator token.
func (s *Server) authenticateAdmin(c echo.Context) error {
	key, ok := bearer(c)
	if !ok || s.cfg.AdminToken == "" || !secret.Equal(key, s.cfg.AdminToken) {
		return problem(http.StatusUnauthorized, CodeUnauthorized, "admin routes need Authorization: Bearer <ONBOARDING_ADMIN_TOKEN>")
	}
	return nil
}

func bearer(c echo.Context) (string, bool) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	scheme, token, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// currentPartner is the partner authenticated for this request.
func currentPartner(ctx context.Context) models.Partner {
	p, _ := ctx.Value(partnerKey{}).(models.Partner)
	return p
}

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
