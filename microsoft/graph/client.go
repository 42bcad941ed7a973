// Package graph calls the Microsoft Graph v1.0 API for granular delegated
// admin privileges (GDAP) as a partner's app registration: OAuth2 client
// credentials, with Graph's documented faults handled.
//
//   - API overview: https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationships-api-overview
//   - Token (client credentials): https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
//   - Throttling (429, Retry-After): https://learn.microsoft.com/en-us/graph/throttling
//   - Errors (error.code, message; 503 with Retry-After): https://learn.microsoft.com/en-us/graph/errors
//   - client-request-id: https://learn.microsoft.com/en-us/graph/best-practices-concept#reliability-and-support
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/csp-onboarding/onboarding/microsoft/entra"
)

// Defaults of the public cloud; sovereign clouds and the simulator override them.
const (
	DefaultGraphURL = "https://graph.microsoft.com/v1.0"
	DefaultLoginURL = "https://login.microsoftonline.com"
)

// Config is one partner's app registration and where to reach Microsoft.
type Config struct {
	GraphURL     string // MICROSOFT_GRAPH_URL
	LoginURL     string // MICROSOFT_LOGIN_URL
	TenantID     string // the partner's Entra tenant
	ClientID     string
	ClientSecret string
	// Certificate is the app's certificate credential, used instead of ClientSecret when set.
	Certificate *entra.Certificate
	// HTTPClient carries the calls (and token requests); nil is a client
	// with a 30-second timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Attempts is how often one call is tried when Graph answers 429 or
	// 5xx (default 3); waits follow Retry-After, capped by MaxWait.
	Attempts int
	MaxWait  time.Duration // default 30s: longer waits are left to the caller's retry
}

// Client is a Graph client for one partner. Its token is cached until it expires.
type Client struct {
	base     string
	http     *http.Client
	tokens   oauth2.TokenSource
	creds    entra.Credentials
	plain    *http.Client
	logger   *slog.Logger
	attempts int
	maxWait  time.Duration
	sleep    func(context.Context, time.Duration) error
}

// New builds a client; ctx bounds nothing but carries the HTTP client the
// token requests use, so it is kept without its cancellation.
func New(ctx context.Context, cfg Config) *Client {
	c := &Client{
		base: strings.TrimRight(orDefault(cfg.GraphURL, DefaultGraphURL), "/"), plain: cfg.HTTPClient,
		logger: cfg.Logger, attempts: cfg.Attempts, maxWait: cfg.MaxWait, sleep: Sleep,
	}
	if c.plain == nil {
		c.plain = &http.Client{Timeout: 30 * time.Second}
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.attempts < 1 {
		c.attempts = 3
	}
	if c.maxWait <= 0 {
		c.maxWait = 30 * time.Second
	}
	c.creds = entra.Credentials{
		LoginURL: orDefault(cfg.LoginURL, DefaultLoginURL), TenantID: cfg.TenantID,
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Certificate: cfg.Certificate,
		// The app's application permissions (DelegatedAdminRelationship.ReadWrite.All).
		Scope: scopeFor(c.base),
	}
	c.tokens = c.creds.TokenSource(ctx, c.plain) // cached until expiry
	c.http = &http.Client{Transport: &oauth2.Transport{Source: c.tokens, Base: c.plain.Transport}, Timeout: c.plain.Timeout}
	return c
}

// scopeFor is the ".default" scope of the Graph host the client calls.
func scopeFor(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || !strings.HasSuffix(u.Hostname(), ".microsoft.com") && !strings.HasSuffix(u.Hostname(), ".microsoftonline.us") && !strings.HasSuffix(u.Hostname(), ".chinacloudapi.cn") {
		return "https://graph.microsoft.com/.default"
	}
	return u.Scheme + "://" + u.Host + "/.default"
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// Sleep waits d, or until ctx ends (an activity cancelled or timed out).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// CheckCredentials obtains a fresh token: the check a partner's connection
// passes before it is saved. The token itself is dropped.
func (c *Client) CheckCredentials(ctx context.Context) error {
	_, err := c.creds.Token(ctx, c.plain)
	if err != nil {
		return tokenError(err, "")
	}
	return nil
}

// Error is a failed Graph call: Graph's error code and message, or a token
// endpoint's refusal (Code "token:" + the OAuth error).
type Error struct {
	Method, Path string
	Status       int
	Code         string
	Message      string
	// RequestID is the client-request-id the call sent: Microsoft support
	// finds the call by it.
	RequestID  string
	RetryAfter time.Duration // from Retry-After, when Graph sent one
}

func (e *Error) Error() string {
	where := ""
	if e.Method != "" {
		where = e.Method + " " + e.Path + ": "
	}
	return fmt.Sprintf("%sMicrosoft Graph answered %d %s: %s (client-request-id %s)", where, e.Status, e.Code, e.Message, e.RequestID)
}

// Retryable says whether the same call may succeed later: throttling (429)
// and server faults (5xx), or no answer at all (Status 0).
func (e *Error) Retryable() bool {
	return e.Status == 0 || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// tokenError classifies a token endpoint failure: a refusal (invalid
// client, wrong secret, unknown tenant) is final; no answer or a 5xx is not.
func tokenError(err error, requestID string) *Error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		msg := re.ErrorDescription
		if msg == "" {
			msg = http.StatusText(re.Response.StatusCode)
		}
		return &Error{Status: re.Response.StatusCode, Code: "token:" + re.ErrorCode, Message: firstLine(msg), RequestID: requestID}
	}
	return &Error{Code: "token:unreachable", Message: err.Error(), RequestID: requestID}
}

// firstLine keeps Entra's long error descriptions (trace IDs, timestamps) short.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// do sends one call, retrying throttling and server faults within the
// client's budget, and decodes a 2xx answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, header http.Header, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	var last *Error
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, method, path, header, body, out)
		if err == nil {
			return nil
		}
		if !errors.As(err, &last) || !last.Retryable() || attempt >= c.attempts {
			return err
		}
		wait := last.RetryAfter
		if wait == 0 {
			wait = time.Duration(1<<(attempt-1)) * time.Second // no Retry-After: back off exponentially
		}
		if wait > c.maxWait {
			return err // a long wait is the caller's (the activity's retry policy)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return last
		}
	}
}

func (c *Client) once(ctx context.Context, method, path string, header http.Header, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	id := uuid.NewString()
	req.Header.Set("client-request-id", id)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.logger.WarnContext(ctx, "Microsoft Graph call failed", "method", method, "path", path, "client_request_id", id, "error", redact(err))
		var ue *url.Error
		if errors.As(err, &ue) {
			var re *oauth2.RetrieveError
			if errors.As(ue.Err, &re) || strings.Contains(ue.Err.Error(), "oauth2:") {
				e := tokenError(ue.Err, id)
				e.Method, e.Path = method, path
				return e
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Method: method, Path: path, Code: "unreachable", Message: redact(err), RequestID: id}
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Code: "readFailed", Message: err.Error(), RequestID: id}
	}
	c.logger.InfoContext(ctx, "Microsoft Graph call", "method", method, "path", path, "status", resp.StatusCode,
		"client_request_id", id, "request_id", resp.Header.Get("request-id"), "duration", time.Since(start))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || len(raw) == 0 {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode Graph's answer: %w", method, path, err)
		}
		return nil
	}
	e := &Error{Method: method, Path: path, Status: resp.StatusCode, RequestID: id, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && eb.Error.Code != "" {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
	} else {
		e.Code, e.Message = strconv.Itoa(resp.StatusCode), http.StatusText(resp.StatusCode)
	}
	return e
}

// retryAfter reads Retry-After: Graph sends seconds; an HTTP date is accepted too.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// redact keeps URLs' query strings (never secrets here, but tokens travel
// in some OAuth errors) out of logged errors.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		u := ue.URL
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		return ue.Op + " " + u + ": " + ue.Err.Error()
	}
	return err.Error()
}
