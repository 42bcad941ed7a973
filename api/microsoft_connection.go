package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/entra"
	"github.com/csp-onboarding/onboarding/microsoft/graph"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

func (s *Server) microsoftConnectionView(c models.MicrosoftConnection) oapi.MicrosoftConnection {
	return oapi.MicrosoftConnection{TenantId: c.TenantID, ClientId: c.ClientID, Status: oapi.MicrosoftConnectionStatus(c.Status),
		Credential: oapi.MicrosoftConnectionCredential(c.Credential), CertificateThumbprint: c.CertificateThumbprint,
		CertificateExpiresAt: valueOf(c.CertificateExpiresAt),
		LastError:            c.LastError, LastSuccessAt: valueOf(c.LastSuccessAt), Mode: oapi.MicrosoftConnectionMode(s.cfg.Microsoft.Mode),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func (s *Server) GetMicrosoftConnection(ctx context.Context, _ oapi.GetMicrosoftConnectionRequestObject) (oapi.GetMicrosoftConnectionResponseObject, error) {
	c, err := s.store.MicrosoftConnection(ctx, currentPartner(ctx).ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem(http.StatusNotFound, CodeNotFound, "no Microsoft connection is recorded: PUT /v1/me/microsoft-connection")
	}
	if err != nil {
		return nil, err
	}
	return oapi.GetMicrosoftConnection200JSONResponse(s.microsoftConnectionView(c)), nil
}

// PutMicrosoftConnection checks the app registration with Microsoft (a
// token request) before it seals and saves it.
func (s *Server) PutMicrosoftConnection(ctx context.Context, request oapi.PutMicrosoftConnectionRequestObject) (oapi.PutMicrosoftConnectionResponseObject, error) {
	req := request.Body
	cert, err := validateMicrosoftConnection(*req, time.Now())
	if err != nil {
		return nil, err
	}
	if s.cfg.Microsoft.Mode == config.MicrosoftOff {
		return nil, problem(http.StatusConflict, CodeConflict, "MICROSOFT_MODE is off on this server: nothing is sent to Microsoft, so no connection can be recorded")
	}
	if s.secrets == nil {
		return nil, problem(http.StatusServiceUnavailable, CodeUnavailable, "a Microsoft connection needs ONBOARDING_SECRET_KEY on the server: credentials are kept sealed under it")
	}
	client := graph.New(ctx, graph.Config{GraphURL: s.cfg.Microsoft.GraphURL, LoginURL: s.cfg.Microsoft.LoginURL,
		TenantID: req.TenantId, ClientID: req.ClientId, ClientSecret: req.ClientSecret, Certificate: cert, Logger: s.logger})
	if err := client.CheckCredentials(ctx); err != nil {
		var ge *graph.Error
		if errors.As(err, &ge) && !ge.Retryable() {
			return nil, validationProblem([]FieldError{{Field: credentialField(cert),
				Message: fmt.Sprintf("Microsoft refused the app registration (%s: %s)", ge.Code, ge.Message)}})
		}
		return nil, problem(http.StatusServiceUnavailable, CodeUnavailable, "Microsoft's token endpoint did not answer; try again")
	}
	c, err := s.sealMicrosoftConnection(ctx, *req, cert)
	if err != nil {
		return nil, err
	}
	if err := s.store.SaveMicrosoftConnection(ctx, &c); err != nil {
		return nil, err
	}
	return oapi.PutMicrosoftConnection200JSONResponse(s.microsoftConnectionView(c)), nil
}

// validateMicrosoftConnection checks the ids and that exactly one
// credential is given; a certificate must parse, match its key and be valid now.
func validateMicrosoftConnection(req oapi.MicrosoftConnectionRequest, now time.Time) (*entra.Certificate, error) {
	var f fieldErrors
	for field, v := range map[string]string{"tenant_id": req.TenantId, "client_id": req.ClientId} {
		if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
			f.add(field, "must be a GUID such as 8f1e5b3a-0d3c-4c56-9a8e-2f1f7c0b1a11")
		}
	}
	var cert *entra.Certificate
	switch {
	case req.ClientSecret != "" && req.Certificate != "":
		f.add("certificate", "send either client_secret or certificate, not both")
	case req.Certificate != "":
		var err error
		if cert, err = entra.ParseCertificate([]byte(req.Certificate), now); err != nil {
			f.add("certificate", err.Error())
		}
	case len(req.ClientSecret) == 0 || len(req.ClientSecret) > 1024:
		f.add("client_secret", "must be the app registration's client secret (1 to 1024 characters), or send a certificate instead")
	}
	return cert, f.err()
}

func credentialField(cert *entra.Certificate) string {
	if cert != nil {
		return "certificate"
	}
	return "client_secret"
}

// sealMicrosoftConnection is the row to save: the credential sealed and
// bound to the partner, the certificate's public facts beside it.
func (s *Server) sealMicrosoftConnection(ctx context.Context, req oapi.MicrosoftConnectionRequest, cert *entra.Certificate) (models.MicrosoftConnection, error) {
	at := time.Now().UTC()
	c := models.MicrosoftConnection{PartnerID: currentPartner(ctx).ID, TenantID: req.TenantId, ClientID: req.ClientId,
		Credential: models.MicrosoftClientSecret, Status: models.MicrosoftConnected, LastSuccessAt: &at}
	plain := req.ClientSecret
	if cert != nil {
		plain, c.Credential, c.CertificateThumbprint = req.Certificate, models.MicrosoftCertificate, cert.Thumbprint()
		expires := cert.Cert.NotAfter.UTC()
		c.CertificateExpiresAt = &expires
	}
	sealed, err := s.secrets.Seal(plain, c.SealAD())
	if err != nil {
		return c, err
	}
	c.SecretSealed = sealed
	if old, err := s.store.MicrosoftConnection(ctx, c.PartnerID); err == nil {
		c.CreatedAt = old.CreatedAt
	}
	return c, nil
}

func (s *Server) DeleteMicrosoftConnection(ctx context.Context, _ oapi.DeleteMicrosoftConnectionRequestObject) (oapi.DeleteMicrosoftConnectionResponseObject, error) {
	deleted, err := s.store.DeleteMicrosoftConnection(ctx, currentPartner(ctx).ID)
	if err != nil {
		return nil, err
	}
	if !deleted {
		return nil, problem(http.StatusNotFound, CodeNotFound, "no Microsoft connection is recorded")
	}
	return oapi.DeleteMicrosoftConnection204Response{}, nil
}

func assignmentsView(cfg models.DelegatedAdminAssignmentConfig) oapi.DelegatedAdminAssignments {
	out := oapi.DelegatedAdminAssignments{Assignments: make([]oapi.DelegatedAdminAssignment, len(cfg.Assignments)), UpdatedAt: cfg.UpdatedAt}
	for i, a := range cfg.Assignments {
		names, ids := roleView(a.RoleIDs)
		out.Assignments[i] = oapi.DelegatedAdminAssignment{SecurityGroupId: a.SecurityGroupID, RoleIds: ids, Roles: names}
	}
	return out
}

func (s *Server) GetDelegatedAdminAssignments(ctx context.Context, _ oapi.GetDelegatedAdminAssignmentsRequestObject) (oapi.GetDelegatedAdminAssignmentsResponseObject, error) {
	cfg, err := s.store.DelegatedAdminAssignments(ctx, currentPartner(ctx).ID)
	if err != nil {
		return nil, err
	}
	return oapi.GetDelegatedAdminAssignments200JSONResponse(assignmentsView(cfg)), nil
}

// PutDelegatedAdminAssignments replaces the access assignments: each group
// once, each role from the catalogue (stored as its roleDefinitionId).
func (s *Server) PutDelegatedAdminAssignments(ctx context.Context, request oapi.PutDelegatedAdminAssignmentsRequestObject) (oapi.PutDelegatedAdminAssignmentsResponseObject, error) {
	var f fieldErrors
	groups := map[string]bool{}
	out := make([]models.AccessAssignment, len(request.Body.Assignments))
	for i, a := range request.Body.Assignments {
		at := fmt.Sprintf("assignments[%d]", i)
		if _, err := uuid.Parse(a.SecurityGroupId); err != nil || len(a.SecurityGroupId) != 36 {
			f.add(at+".security_group_id", "must be a security group's object id (GUID)")
		} else if groups[a.SecurityGroupId] {
			f.add(at+".security_group_id", "is listed twice")
		}
		groups[a.SecurityGroupId] = true
		if len(a.RoleIds) == 0 || len(a.RoleIds) > 30 {
			f.add(at+".role_ids", "must list 1 to 30 roles")
		}
		ids, seen := append([]string(nil), a.RoleIds...), map[string]bool{}
		for j := range ids {
			resolveRole(&f, fmt.Sprintf("%s.role_ids[%d]", at, j), &ids[j], seen)
		}
		out[i] = models.AccessAssignment{SecurityGroupID: a.SecurityGroupId, RoleIDs: ids}
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	partnerID := currentPartner(ctx).ID
	if err := s.store.SaveDelegatedAdminAssignments(ctx, partnerID, out); err != nil {
		return nil, err
	}
	cfg, err := s.store.DelegatedAdminAssignments(ctx, partnerID)
	if err != nil {
		return nil, err
	}
	return oapi.PutDelegatedAdminAssignments200JSONResponse(assignmentsView(cfg)), nil
}
