package partnercenter

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/csp-onboarding/onboarding/microsoft/entra"
	"github.com/csp-onboarding/onboarding/microsoft/graph"
)

// DefaultAPIURL is the public cloud's Partner Center API; the simulator overrides it.
const DefaultAPIURL = "https://api.partnercenter.microsoft.com"

// Config is one partner's app registration (the same one as its Microsoft
// connection: registered in Partner Center for app-only access) and where
// to reach Partner Center.
type Config struct {
	APIURL       string // PARTNER_CENTER_API_URL
	LoginURL     string // MICROSOFT_LOGIN_URL
	TenantID     string
	ClientID     string
	ClientSecret string
	Certificate  *entra.Certificate // instead of ClientSecret when set
	HTTPClient   *http.Client       // nil: a 30-second timeout
	Logger       *slog.Logger
}

// Client calls the Partner Center webhook registration API with an
// app-only token for https://api.partnercenter.microsoft.com ("All calls to
// the Webhook APIs are authenticated using the Bearer token … Acquire an
// access token to access https://api.partnercenter.microsoft.com").
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks#authentication
type Client struct {
	base   string
	http   *http.Client
	logger *slog.Logger
}

// NewClient builds a client; its token is cached until it expires.
func NewClient(ctx context.Context, cfg Config) *Client {
	plain := cfg.HTTPClient
	if plain == nil {
		plain = &http.Client{Timeout: 30 * time.Second}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	creds := entra.Credentials{
		LoginURL: cmp.Or(cfg.LoginURL, graph.DefaultLoginURL), TenantID: cfg.TenantID,
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Certificate: cfg.Certificate,
		// The v2.0 endpoint names the resource by its ".default" scope.
		// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
		Scope: "https://api.partnercenter.microsoft.com/.default",
	}
	return &Client{
		base:   strings.TrimRight(cmp.Or(cfg.APIURL, DefaultAPIURL), "/"),
		http:   &http.Client{Transport: &oauth2.Transport{Source: creds.TokenSource(ctx, plain), Base: plain.Transport}, Timeout: plain.Timeout},
		logger: logger,
	}
}

// Registration is a webhook registration ("Register to receive events").
type Registration struct {
	SubscriberID  string   `json:"SubscriberId,omitempty"`
	WebhookURL    string   `json:"WebhookUrl"`
	WebhookEvents []string `json:"WebhookEvents"`
}

// ValidationEvent is the state of a validation event ("Verify that the event was delivered").
type ValidationEvent struct {
	CorrelationID string `json:"correlationId"`
	PartnerID     string `json:"partnerId"`
	Status        string `json:"status"`
	CallbackURL   string `json:"callbackUrl"`
	Results       []struct {
		ResponseCode    string `json:"responseCode"`
		ResponseMessage string `json:"responseMessage"`
		SystemError     bool   `json:"systemError"`
		DateTimeUtc     string `json:"dateTimeUtc"`
	} `json:"results"`
}

// Error is a call Partner Center refused (or a token it would not give).
type Error struct {
	Method, Path string
	Status       int
	Message      string
	RequestID    string // the MS-RequestId we sent
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: Partner Center answered %d: %s (MS-RequestId %s)", e.Method, e.Path, e.Status, e.Message, e.RequestID)
}

// Register registers url for events, replacing the tenant's registration
// when it has one: "View a registration" (GET), then "Update an event
// registration" (PUT) or "Register to receive events" (POST).
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks#register-to-receive-events
func (c *Client) Register(ctx context.Context, webhookURL string, events []string) (Registration, error) {
	var current Registration
	method := http.MethodPost
	err := c.do(ctx, http.MethodGet, "/webhooks/v1/registration", nil, &current)
	var pe *Error
	switch {
	case err == nil && current.WebhookURL != "":
		method = http.MethodPut
	case err == nil, errors.As(err, &pe) && pe.Status == http.StatusNotFound:
	default:
		return Registration{}, err
	}
	var out Registration
	err = c.do(ctx, method, "/webhooks/v1/registration", Registration{WebhookURL: webhookURL, WebhookEvents: events}, &out)
	return out, err
}

// SendValidationEvent asks Partner Center to post a test-created event to
// the registered URL; the answer carries its correlation id. The tenant
// must be registered for test-created; Partner Center allows 2 a minute.
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks#send-a-test-event-to-validate-your-registration
func (c *Client) SendValidationEvent(ctx context.Context) (string, error) {
	var out struct {
		CorrelationID string `json:"correlationId"`
	}
	err := c.do(ctx, http.MethodPost, "/webhooks/v1/registration/validationEvents", nil, &out)
	return out.CorrelationID, err
}

// ValidationEvent reads the delivery attempts of a validation event.
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks#verify-that-the-event-was-delivered
func (c *Client) ValidationEvent(ctx context.Context, correlationID string) (ValidationEvent, error) {
	var out ValidationEvent
	err := c.do(ctx, http.MethodGet, "/webhooks/v1/registration/validationEvents/"+url.PathEscape(correlationID), nil, &out)
	return out, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	id := uuid.NewString()
	req.Header.Set("MS-RequestId", id)
	req.Header.Set("MS-CorrelationId", id)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			desc, _, _ := strings.Cut(re.ErrorDescription, "\n") // Entra's descriptions go on with trace ids
			return &Error{Method: method, Path: path, Status: re.Response.StatusCode, Message: "token: " + re.ErrorCode + " " + strings.TrimSpace(desc), RequestID: id}
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read Partner Center's answer: %w", method, path, err)
	}
	c.logger.InfoContext(ctx, "Partner Center call", "method", method, "path", path, "status", resp.StatusCode, "ms_request_id", id)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(string(raw))
		if len(msg) > 300 {
			msg = msg[:300]
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Message: msg, RequestID: id}
	}
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode Partner Center's answer: %w", method, path, err)
		}
	}
	return nil
}
