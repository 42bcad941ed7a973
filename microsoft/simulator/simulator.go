// Package simulator is an in-process stand-in for the parts of Microsoft
// Entra ID and Microsoft Graph the GDAP flow uses: the client credentials
// token endpoint, and tenantRelationships/delegatedAdminRelationships with
// its requests, accessAssignments and operations. Shapes and status machines
// follow Microsoft Learn (each handler cites its page); the customer's side
// (approval in the Microsoft 365 admin center) is a method, Approve, and an
// HTTP action for `make run`. Faults (throttling, outages) are injected on
// demand. Tests serve it with httptest; MICROSOFT_MODE=simulated mounts it
// in the process.
package simulator

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/csp-onboarding/onboarding/microsoft/graph"
	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
)

// Simulator holds the state of every simulated partner tenant.
type Simulator struct {
	// Now is the simulator's clock (relationship activation and expiry).
	Now func() time.Time
	// AcceptNewApps registers an app registration at its first token
	// request (MICROSOFT_MODE=simulated: any partner can connect); a later
	// request with another secret is still refused.
	AcceptNewApps bool
	// AnyDomainIsATenant gives any domain a customer tenant of its own
	// (MICROSOFT_MODE=simulated); tests add theirs with AddCustomerTenant.
	AnyDomainIsATenant bool

	mu        sync.Mutex
	apps      map[string]app    // client_id → registration
	tokens    map[string]string // access token → partner tenant
	scopes    map[string]string // access token → the scope it was asked for
	pc        pcState           // the Partner Center side (partnercenter.go)
	customers customerState     // the customers' tenants and acceptances (customers.go)
	signin    signinState       // the customers' sign-in (signin.go)
	rels      map[string]*rel   // relationship id → relationship
	faults    []*Fault          // pending injected faults, first match wins
	calls     []Call            // what was called, for assertions
	version   int               // etag counter
	tokenDown bool

	// Signer signs the Partner Center webhook deliveries (nil: none are made).
	Signer *WebhookSigner
}

type app struct {
	tenant, secret string
	certs          []*x509.Certificate // uploaded certificates (client_auth.go)
}

type rel struct {
	partner     string
	r           graph.Relationship
	requests    []graph.Request
	assignments []*graph.AccessAssignment
	operations  []*graph.Operation
}

// Call is one request the simulator answered.
type Call struct {
	Method, Path, ClientRequestID string
	Status                        int
}

// Fault is an injected failure: the next Times calls whose method and path
// prefix match are answered Status (with Retry-After when set) instead.
type Fault struct {
	Method     string // "" for any
	PathPrefix string // e.g. "/v1.0/tenantRelationships"; "/token" for the token endpoint
	Status     int
	RetryAfter int // seconds
	Times      int
}

// New is an empty simulator on the wall clock.
func New() *Simulator {
	return &Simulator{Now: time.Now, apps: map[string]app{}, tokens: map[string]string{}, scopes: map[string]string{}, rels: map[string]*rel{},
		customers: customerState{domains: map[string]string{}, accepted: map[string][]acceptedRelationship{}},
		signin:    signinState{codes: map[string]*authCode{}},
		pc:        pcState{registrations: map[string]*partnercenter.Registration{}, validations: map[string]*partnercenter.ValidationEvent{}}}
}

// RegisterApp is a partner's app registration (and the provisioned
// "Partner Customer Delegated Administration" service principal).
func (s *Simulator) RegisterApp(tenantID, clientID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[clientID] = app{tenant: tenantID, secret: secret}
}

// Inject adds a fault.
func (s *Simulator) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// SetTokenEndpointDown makes the token endpoint answer 503 (true) or work again.
func (s *Simulator) SetTokenEndpointDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenDown = down
}

// Calls are the calls answered so far.
func (s *Simulator) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Relationships are the relationships of a partner tenant.
func (s *Simulator) Relationships(partnerTenant string) []graph.Relationship {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []graph.Relationship
	for _, r := range s.rels {
		if r.partner == partnerTenant {
			out = append(out, r.r)
		}
	}
	return out
}

// Approve is the customer's admin approving the relationship in the
// Microsoft 365 admin center (the "approve" action of a request): it moves
// from approvalPending to approved, and then, read after read, through
// activating to active.
// https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationshiprequest
func (s *Simulator) Approve(id, customerTenantID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rels[id]
	if !ok {
		return fmt.Errorf("no relationship %s", id)
	}
	if r.r.Status != graph.StatusApprovalPending {
		return fmt.Errorf("relationship %s is %s, not approvalPending", id, r.r.Status)
	}
	if r.r.Customer == nil {
		r.r.Customer = &graph.Customer{}
	}
	if r.r.Customer.TenantID == "" {
		r.r.Customer.TenantID = customerTenantID
	}
	s.set(r, graph.StatusApproved)
	return nil
}

// Terminate is the customer ending the relationship from their side.
func (s *Simulator) Terminate(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rels[id]
	if !ok {
		return fmt.Errorf("no relationship %s", id)
	}
	s.set(r, graph.StatusTerminationRequested)
	return nil
}

func (s *Simulator) etag() string {
	s.version++
	return `W/"` + strconv.Itoa(s.version) + `"`
}

func (s *Simulator) set(r *rel, status string) {
	r.r.Status = status
	r.r.LastModifiedDateTime = stamp(s.Now())
	r.r.ETag = s.etag()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// advance moves a relationship and its assignments one step along
// Microsoft's status machine, as the service does in the background
// between two reads; expiry follows the clock.
// https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationships-api-overview#lifecycle-of-a-gdap-relationship
func (s *Simulator) advance(r *rel) {
	now := s.Now()
	switch r.r.Status {
	case graph.StatusApproved:
		s.set(r, graph.StatusActivating)
	case graph.StatusActivating:
		s.set(r, graph.StatusActive)
		r.r.ActivatedDateTime = stamp(now)
		r.r.EndDateTime = stamp(now.Add(durationOf(r.r.Duration)))
	case graph.StatusActive:
		if end, err := time.Parse(time.RFC3339Nano, r.r.EndDateTime); err == nil && !now.Before(end) {
			if r.r.AutoExtendDuration == graph.AutoExtend180Days {
				r.r.EndDateTime = stamp(end.AddDate(0, 0, 180))
				r.r.ETag = s.etag()
			} else {
				s.set(r, graph.StatusExpiring)
			}
		}
	case graph.StatusExpiring:
		s.set(r, graph.StatusExpired)
	case graph.StatusTerminationRequested:
		s.set(r, graph.StatusTerminating)
	case graph.StatusTerminating:
		s.set(r, graph.StatusTerminated)
		r.r.EndDateTime = stamp(now)
	}
	for _, a := range r.assignments {
		if a.Status == graph.AssignmentPending && r.r.Status == graph.StatusActive {
			a.Status, a.LastModifiedDateTime, a.ETag = graph.AssignmentActive, stamp(now), s.etag()
		}
	}
	for _, o := range r.operations {
		if o.Status == "running" {
			o.Status, o.LastModifiedDateTime, o.ETag = "complete", stamp(now), s.etag()
		}
	}
}

// durationOf reads the "P{n}D" durations the product sends (Graph also
// accepts P2Y, counted as 730 days here).
func durationOf(iso string) time.Duration {
	if iso == "P2Y" {
		return 730 * 24 * time.Hour
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(iso, "P"), "D"))
	if err != nil || !strings.HasPrefix(iso, "P") || !strings.HasSuffix(iso, "D") {
		return -1
	}
	return time.Duration(n) * 24 * time.Hour
}

func newID() string { return uuid.NewString() }

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// graphError writes Graph's error resource.
// https://learn.microsoft.com/en-us/graph/errors#error-resource-type
func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]string{"date": stamp(time.Now()), "request-id": newID()}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
