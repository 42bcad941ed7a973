package simulator

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/csp-onboarding/onboarding/microsoft/graph"
	"github.com/csp-onboarding/onboarding/microsoft/roles"
)

// GraphPrefix is where the simulated Graph v1.0 lives: MICROSOFT_GRAPH_URL
// is the simulator's base URL + GraphPrefix; MICROSOFT_LOGIN_URL its base URL.
const GraphPrefix = "/v1.0"

const relationships = GraphPrefix + "/tenantRelationships/delegatedAdminRelationships"

// Handler serves the simulator.
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.openIDConfiguration)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.authorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/authorize", s.authorize)
	mux.HandleFunc("GET /discovery/v2.0/keys", s.jwks)
	mux.HandleFunc("GET "+AdminCenterPrefix+"/Adminportal/Home", s.adminCenterInvitation)
	mux.HandleFunc("POST "+AdminCenterPrefix+"/partner-invitation/accept", s.adminCenterAccept)
	mux.HandleFunc("POST /simulator/partner-center/extend", s.partnerCenterExtend)
	mux.Handle("POST "+relationships, s.authed(s.createRelationship))
	mux.Handle("GET "+relationships, s.authed(s.listRelationships))
	mux.Handle("GET "+relationships+"/{id}", s.authed(s.getRelationship))
	mux.Handle("PATCH "+relationships+"/{id}", s.authed(s.updateRelationship))
	mux.Handle("POST "+relationships+"/{id}/requests", s.authed(s.createRequest))
	mux.Handle("POST "+relationships+"/{id}/accessAssignments", s.authed(s.createAssignment))
	mux.Handle("GET "+relationships+"/{id}/accessAssignments", s.authed(s.listAssignments))
	mux.Handle("GET "+relationships+"/{id}/accessAssignments/{aid}", s.authed(s.getAssignment))
	mux.Handle("GET "+relationships+"/{id}/operations/{oid}", s.authed(s.getOperation))
	mux.HandleFunc("POST /simulator/relationships/{id}/approve", s.approveAction)
	s.partnerCenterRoutes(mux)
	return s.recorded(mux)
}

// recorded logs each call and answers injected faults before the handler.
func (s *Simulator) recorded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.mu.Lock()
			s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, ClientRequestID: r.Header.Get("client-request-id"), Status: rw.status})
			s.mu.Unlock()
		}()
		if f := s.fault(r); f != nil {
			if f.RetryAfter > 0 {
				rw.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
			}
			// Throttling per https://learn.microsoft.com/en-us/graph/throttling
			code := map[int]string{429: "TooManyRequests", 503: "serviceNotAvailable", 504: "gatewayTimeout"}[f.Status]
			if code == "" {
				code = "generalException"
			}
			graphError(rw, f.Status, code, "injected by the simulator")
			return
		}
		next.ServeHTTP(rw, r)
	})
}

func (s *Simulator) fault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := r.URL.Path
	if strings.HasSuffix(path, "/oauth2/v2.0/token") {
		path = "/token"
	}
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.HasPrefix(path, f.PathPrefix) {
			if f.Times--; f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// token is the Microsoft identity platform's client credentials grant with
// a shared secret or a certificate (client_auth.go).
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#first-case-access-token-request-with-a-shared-secret
func (s *Simulator) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.tokenDown
	s.mu.Unlock()
	if down {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable", "error_description": "AADSTS90033: A transient error has occurred. Please try again."})
		return
	}
	if err := r.ParseForm(); err == nil && r.PostForm.Get("grant_type") == "authorization_code" {
		s.redeemCode(w, r)
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "AADSTS70003: The app requested an unsupported grant type."})
		return
	}
	a, fail := s.authenticateClient(r)
	if fail != nil {
		fail.write(w)
		return
	}
	t := randomToken()
	s.mu.Lock()
	s.tokens[t] = a.tenant
	s.scopes[t] = r.PostForm.Get("scope")
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": t})
}

type authedHandler func(w http.ResponseWriter, r *http.Request, partner string)

// authed checks the bearer token and passes on the partner tenant it was issued for.
func (s *Simulator) authed(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		partner, known := s.tokens[t]
		s.mu.Unlock()
		if !ok || !known {
			graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
			return
		}
		h(w, r, partner)
	})
}

// lookup finds the partner's relationship; the caller holds s.mu.
func (s *Simulator) lookup(w http.ResponseWriter, r *http.Request, partner string) *rel {
	x, ok := s.rels[r.PathValue("id")]
	if !ok || x.partner != partner {
		graphError(w, http.StatusNotFound, "itemNotFound", "The delegated admin relationship was not found.")
		return nil
	}
	return x
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		graphError(w, http.StatusBadRequest, "BadRequest", "The request body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

// checkRoles refuses roles GDAP cannot grant.
func checkRoles(w http.ResponseWriter, d *graph.AccessDetails) bool {
	if d == nil || len(d.UnifiedRoles) == 0 {
		graphError(w, http.StatusBadRequest, "BadRequest", "accessDetails.unifiedRoles must list at least one role.")
		return false
	}
	for _, u := range d.UnifiedRoles {
		if _, ok := roles.Lookup(u.RoleDefinitionID); !ok || u.RoleDefinitionID != strings.ToLower(u.RoleDefinitionID) {
			graphError(w, http.StatusBadRequest, "BadRequest", "The role "+u.RoleDefinitionID+" is not allowed in a delegated admin relationship.")
			return false
		}
	}
	return true
}

// createRelationship: POST /tenantRelationships/delegatedAdminRelationships, 201 with the relationship.
// https://learn.microsoft.com/en-us/graph/api/tenantrelationship-post-delegatedadminrelationships
func (s *Simulator) createRelationship(w http.ResponseWriter, r *http.Request, partner string) {
	var in graph.Relationship
	if !decode(w, r, &in) {
		return
	}
	switch d := durationOf(in.Duration); {
	case in.DisplayName == "" || utf8.RuneCountInString(in.DisplayName) > 50:
		graphError(w, http.StatusBadRequest, "BadRequest", "displayName is required and at most 50 characters.")
		return
	case d < 24*time.Hour || d > 730*24*time.Hour:
		graphError(w, http.StatusBadRequest, "BadRequest", "duration must be between P1D and P2Y.")
		return
	case in.AutoExtendDuration != "" && in.AutoExtendDuration != graph.AutoExtend180Days && in.AutoExtendDuration != graph.NoAutoExtend && in.AutoExtendDuration != "P0D":
		graphError(w, http.StatusBadRequest, "BadRequest", "autoExtendDuration must be P0D, PT0S or P180D.")
		return
	case !checkRoles(w, in.AccessDetails):
		return
	case in.AutoExtendDuration == graph.AutoExtend180Days && roles.HasGlobalAdministrator(in.AccessDetails.RoleIDs()):
		graphError(w, http.StatusBadRequest, "BadRequest", "A relationship with the Global Administrator role cannot be auto-extended.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.rels {
		if x.partner == partner && x.r.DisplayName == in.DisplayName {
			graphError(w, http.StatusConflict, "nameAlreadyExists", "A delegated admin relationship with this displayName already exists.")
			return
		}
	}
	now := stamp(s.Now())
	if in.AutoExtendDuration == "" {
		in.AutoExtendDuration = graph.NoAutoExtend
	}
	// Relationship IDs are two GUIDs joined, as in Learn's examples.
	in.ID, in.Status, in.CreatedDateTime, in.LastModifiedDateTime, in.ActivatedDateTime, in.EndDateTime = newID()+"-"+newID(), graph.StatusCreated, now, now, "", ""
	in.ETag = s.etag()
	s.rels[in.ID] = &rel{partner: partner, r: in}
	w.Header().Set("Location", "https://"+r.Host+relationships+"/"+in.ID)
	writeJSON(w, http.StatusCreated, in)
}

// listRelationships: GET …/delegatedAdminRelationships, with $filter=displayName eq '…'.
// https://learn.microsoft.com/en-us/graph/api/tenantrelationship-list-delegatedadminrelationships
func (s *Simulator) listRelationships(w http.ResponseWriter, r *http.Request, partner string) {
	want, filtered := "", false
	if f := r.URL.Query().Get("$filter"); f != "" {
		v, ok := strings.CutPrefix(f, "displayName eq '")
		if !ok || !strings.HasSuffix(v, "'") {
			graphError(w, http.StatusBadRequest, "BadRequest", "Only $filter=displayName eq '…' is simulated.")
			return
		}
		want, filtered = strings.ReplaceAll(strings.TrimSuffix(v, "'"), "''", "'"), true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []graph.Relationship{}
	for _, x := range s.rels {
		if x.partner == partner && (!filtered || x.r.DisplayName == want) {
			s.advance(x)
			out = append(out, x.r)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// getRelationship: GET …/{id}, with @odata.etag.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-get
func (s *Simulator) getRelationship(w http.ResponseWriter, r *http.Request, partner string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x := s.lookup(w, r, partner); x != nil {
		s.advance(x)
		writeJSON(w, http.StatusOK, x.r)
	}
}

// updateRelationship: PATCH …/{id} with If-Match; 412 on a stale etag.
// autoExtendDuration may change on an active relationship (how Partner
// Center turns auto-extend on and off); the other properties only while
// the relationship is "created".
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-update
func (s *Simulator) updateRelationship(w http.ResponseWriter, r *http.Request, partner string) {
	var p graph.RelationshipPatch
	x, unlock := s.decodeAndLookup(w, r, partner, &p)
	if x == nil {
		return
	}
	defer unlock()
	switch match := r.Header.Get("If-Match"); {
	case match == "":
		graphError(w, http.StatusBadRequest, "BadRequest", "The If-Match header is required.")
		return
	case match != x.r.ETag:
		graphError(w, http.StatusPreconditionFailed, "PreconditionFailed", "The relationship changed since its etag was read.")
		return
	}
	createdOnly := p.DisplayName != "" || p.Duration != "" || p.Customer != nil || p.AccessDetails != nil
	switch {
	case createdOnly && x.r.Status != graph.StatusCreated:
		graphError(w, http.StatusBadRequest, "BadRequest", "Only a relationship in status created can be changed.")
		return
	case p.AutoExtendDuration != "" && x.r.Status != graph.StatusCreated && x.r.Status != graph.StatusActive:
		graphError(w, http.StatusBadRequest, "BadRequest", "autoExtendDuration can change only on a created or active relationship.")
		return
	case p.AutoExtendDuration == graph.AutoExtend180Days && roles.HasGlobalAdministrator(x.r.AccessDetails.RoleIDs()):
		graphError(w, http.StatusBadRequest, "BadRequest", "A relationship with the Global Administrator role cannot be auto-extended.")
		return
	}
	if p.DisplayName != "" {
		x.r.DisplayName = p.DisplayName
	}
	if p.Duration != "" {
		x.r.Duration = p.Duration
	}
	if p.Customer != nil {
		x.r.Customer = p.Customer
	}
	if p.AccessDetails != nil {
		if !checkRoles(w, p.AccessDetails) {
			return
		}
		x.r.AccessDetails = p.AccessDetails
	}
	if p.AutoExtendDuration != "" {
		x.r.AutoExtendDuration = p.AutoExtendDuration
	}
	s.set(x, x.r.Status)
	writeJSON(w, http.StatusOK, x.r)
}

// createRequest: POST …/{id}/requests {action}: lockForApproval moves
// created → approvalPending; terminate moves active → terminationRequested.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-post-requests
func (s *Simulator) createRequest(w http.ResponseWriter, r *http.Request, partner string) {
	var in graph.Request
	x, unlock := s.decodeAndLookup(w, r, partner, &in)
	if x == nil {
		return
	}
	defer unlock()
	switch {
	case in.Action == graph.ActionLockForApproval && x.r.Status == graph.StatusCreated:
		s.set(x, graph.StatusApprovalPending)
	case in.Action == graph.ActionTerminate && x.r.Status == graph.StatusActive:
		s.set(x, graph.StatusTerminationRequested)
	case in.Action != graph.ActionLockForApproval && in.Action != graph.ActionTerminate:
		graphError(w, http.StatusBadRequest, "BadRequest", "action must be lockForApproval or terminate.")
		return
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "The action "+in.Action+" is not allowed on a relationship in status "+x.r.Status+".")
		return
	}
	now := stamp(s.Now())
	req := graph.Request{ID: newID(), Action: in.Action, Status: "succeeded", CreatedDateTime: now, LastModifiedDateTime: now}
	x.requests = append(x.requests, req)
	w.Header().Set("Location", "https://"+r.Host+relationships+"/"+x.r.ID+"/requests/"+req.ID)
	writeJSON(w, http.StatusCreated, req)
}

// createAssignment: POST …/{id}/accessAssignments, only on an active
// relationship, with roles it grants; status pending, then active. Each
// assignment starts a long-running operation.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-post-accessassignments
func (s *Simulator) createAssignment(w http.ResponseWriter, r *http.Request, partner string) {
	var in graph.AccessAssignment
	if !decode(w, r, &in) {
		return
	}
	if in.AccessContainer.AccessContainerID == "" || in.AccessContainer.AccessContainerType != "securityGroup" {
		graphError(w, http.StatusBadRequest, "BadRequest", "accessContainer needs an accessContainerId and accessContainerType securityGroup.")
		return
	}
	if !checkRoles(w, in.AccessDetails) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.lookup(w, r, partner)
	if x == nil {
		return
	}
	if x.r.Status != graph.StatusActive {
		graphError(w, http.StatusBadRequest, "BadRequest", "Access can be assigned only on an active relationship; it is "+x.r.Status+".")
		return
	}
	granted := map[string]bool{}
	for _, id := range x.r.AccessDetails.RoleIDs() {
		granted[id] = true
	}
	for _, id := range in.AccessDetails.RoleIDs() {
		if !granted[id] {
			graphError(w, http.StatusBadRequest, "BadRequest", "The role "+id+" is not part of the relationship's access details.")
			return
		}
	}
	for _, a := range x.assignments {
		if a.AccessContainer.AccessContainerID == in.AccessContainer.AccessContainerID {
			graphError(w, http.StatusConflict, "Conflict", "The security group already has an access assignment in this relationship.")
			return
		}
	}
	now := stamp(s.Now())
	in.ID, in.Status, in.CreatedDateTime, in.LastModifiedDateTime, in.ETag = newID(), graph.AssignmentPending, now, now, s.etag()
	x.assignments = append(x.assignments, &in)
	x.operations = append(x.operations, &graph.Operation{ID: newID(), OperationType: "delegatedAdminAccessAssignmentUpdate",
		Status: "running", CreatedDateTime: now, LastModifiedDateTime: now, ETag: s.etag()})
	w.Header().Set("Location", "https://"+r.Host+relationships+"/"+x.r.ID+"/accessAssignments/"+in.ID)
	writeJSON(w, http.StatusCreated, in)
}

// listAssignments: GET …/{id}/accessAssignments.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-list-accessassignments
func (s *Simulator) listAssignments(w http.ResponseWriter, r *http.Request, partner string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x := s.lookup(w, r, partner); x != nil {
		s.advance(x)
		out := []graph.AccessAssignment{}
		for _, a := range x.assignments {
			out = append(out, *a)
		}
		writeJSON(w, http.StatusOK, map[string]any{"value": out})
	}
}

// getAssignment: GET …/{id}/accessAssignments/{aid}.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminaccessassignment-get
func (s *Simulator) getAssignment(w http.ResponseWriter, r *http.Request, partner string) {
	x, unlock := s.decodeAndLookup(w, r, partner, nil)
	if x == nil {
		return
	}
	defer unlock()
	s.advance(x)
	for _, a := range x.assignments {
		if a.ID == r.PathValue("aid") {
			writeJSON(w, http.StatusOK, a)
			return
		}
	}
	graphError(w, http.StatusNotFound, "itemNotFound", "The access assignment was not found.")
}

// getOperation: GET …/{id}/operations/{oid}; running, then complete.
// https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationshipoperation-get
func (s *Simulator) getOperation(w http.ResponseWriter, r *http.Request, partner string) {
	x, unlock := s.decodeAndLookup(w, r, partner, nil)
	if x == nil {
		return
	}
	defer unlock()
	s.advance(x)
	for _, o := range x.operations {
		if o.ID == r.PathValue("oid") {
			writeJSON(w, http.StatusOK, o)
			return
		}
	}
	graphError(w, http.StatusNotFound, "itemNotFound", "The operation was not found.")
}

// approveAction is the customer's Approve button in the Microsoft 365 admin
// center, for `make run` in simulated mode (form field customer_tenant_id).
func (s *Simulator) approveAction(w http.ResponseWriter, r *http.Request) {
	customer := r.FormValue("customer_tenant_id")
	if customer == "" {
		customer = newID()
	}
	if err := s.Approve(r.PathValue("id"), customer); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("Approved as the customer: the relationship becomes active at its next read.\n"))
}

// decodeAndLookup decodes the body into in (unless nil), then takes the lock
// and finds the partner's relationship; nil (with the answer written and
// the lock released) when either fails.
func (s *Simulator) decodeAndLookup(w http.ResponseWriter, r *http.Request, partner string, in any) (*rel, func()) {
	if in != nil && !decode(w, r, in) {
		return nil, nil
	}
	s.mu.Lock()
	x := s.lookup(w, r, partner)
	if x == nil {
		s.mu.Unlock()
		return nil, nil
	}
	return x, s.mu.Unlock
}
