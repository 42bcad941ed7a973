package activities

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/models"
)

// relationshipStore is what the relationship activities read and write.
type relationshipStore interface {
	Customer(ctx context.Context, id string) (models.Customer, error)
	DelegatedAdmin(ctx context.Context, id string) (models.DelegatedAdminRelationship, error)
	Invitation(ctx context.Context, id string) (models.Invitation, error)
	Relationship(ctx context.Context, id string) (models.Relationship, error)
	LinkCustomerToPartner(ctx context.Context, customerID, partnerID, role string) error
	PartnershipActive(ctx context.Context, providerID, resellerID string) (bool, error)
	UpsertCustomer(ctx context.Context, c *models.Customer) error
}

// NewCustomer is a customer the relationship brings into the product.
type NewCustomer struct {
	ID          string
	CompanyName string
	Email       string
	AcquiredVia string
	CreatedBy   string
	// TenantID: the customer's Entra tenant, when accepted at Microsoft.
	TenantID string `json:",omitempty"`
}

// EnsureCustomer creates the customer under its workflow-chosen ID, once.
func (a *Activities) EnsureCustomer(ctx context.Context, c NewCustomer) error {
	at := time.Now().UTC()
	err := a.Store.UpsertCustomer(ctx, &models.Customer{
		ID: c.ID, CompanyName: c.CompanyName, ContactEmail: c.Email, AcquiredVia: c.AcquiredVia,
		CreatedBy: c.CreatedBy, TenantID: c.TenantID, CreatedAt: at, UpdatedAt: at,
	})
	if err != nil {
		return fmt.Errorf("create customer %s: %w", c.ID, err)
	}
	return nil
}

// ResellerRelationshipInput names the relationship to create.
type ResellerRelationshipInput struct {
	RelationshipID string
	CustomerID     string
	ProviderID     string
	ResellerID     string
	Source         string
	SourceID       string
	ConsentID      string // required for an extension
	DelegatedAdmin bool
}

// CreateResellerRelationship checks the partnership is still active, then
// creates the relationship. It returns the ID of the active relationship for
// the triple: the new one, or the one that already existed.
func (a *Activities) CreateResellerRelationship(ctx context.Context, in ResellerRelationshipInput) (string, error) {
	active, err := a.Store.PartnershipActive(ctx, in.ProviderID, in.ResellerID)
	if err != nil {
		return "", fmt.Errorf("check partnership: %w", err)
	}
	if !active {
		return "", temporal.NewNonRetryableApplicationError(
			"the partnership between the reseller and the provider is no longer active", ErrTypePartnershipNotActive, nil)
	}
	rel := models.Relationship{
		ID: in.RelationshipID, CustomerID: in.CustomerID, ProviderID: in.ProviderID, ResellerID: in.ResellerID,
		Source: in.Source, SourceID: in.SourceID, DelegatedAdmin: in.DelegatedAdmin, Status: models.RelationshipActive,
	}
	if in.ConsentID != "" {
		rel.ConsentID = &in.ConsentID
	}
	r, err := a.PartnerCenter.CreateResellerRelationship(ctx, rel)
	if err != nil {
		return "", fmt.Errorf("create reseller relationship: %w", err)
	}
	activity.GetLogger(ctx).Info("Reseller relationship in place", "relationship_id", r.ID, "customer_id", r.CustomerID)
	return r.ID, nil
}

// DelegatedAdminInput is a granted delegated admin relationship.
type DelegatedAdminInput struct {
	ID             string
	RelationshipID string
	CustomerID     string
	PartnerID      string
	Request        models.DelegatedAdminRequest
	ActivatedAt    time.Time
}

// CreateDelegatedAdmin records the grant once, active from ActivatedAt for its duration.
func (a *Activities) CreateDelegatedAdmin(ctx context.Context, in DelegatedAdminInput) error {
	if in.Request.DurationDays < 1 || in.Request.DurationDays > 730 {
		return temporal.NewNonRetryableApplicationError("delegated admin duration must be 1 to 730 days", ErrTypeInvalidInput, nil)
	}
	at := in.ActivatedAt.UTC()
	err := a.PartnerCenter.CreateDelegatedAdminRelationship(ctx, models.DelegatedAdminRelationship{
		ID: in.ID, RelationshipID: in.RelationshipID, CustomerID: in.CustomerID, PartnerID: in.PartnerID,
		Roles: in.Request.Roles, DurationDays: in.Request.DurationDays, AutoExtend: in.Request.AutoExtend,
		Status: models.DelegatedAdminActive, ActivatedAt: at, EndsAt: at.AddDate(0, 0, in.Request.DurationDays),
		CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC(),
	})
	if err != nil {
		return fmt.Errorf("create delegated admin relationship: %w", err)
	}
	return nil
}

// DelegatedAdminRecord is how a granted delegated admin relationship goes on.
type DelegatedAdminRecord struct {
	// ViaMicrosoft: the grant is obtained as a GDAP relationship in
	// Microsoft Graph (MICROSOFT_MODE live or simulated) and waits for the
	// customer's approval there; false: it is active now (off mode).
	ViaMicrosoft bool
	Status       string
	// Whom to send Microsoft's approval link: the invitation's addressee
	// and language, else the customer's contact.
	CustomerEmail    string
	CustomerName     string
	CustomerTenantID string
	Locale           string
}

// RecordDelegatedAdmin records the grant once. Off mode, it is active from
// ActivatedAt, as CreateDelegatedAdmin does; with Microsoft it waits for the
// GDAP relationship (approval_pending). A retry answers from the row the
// first attempt wrote, so a worker restarted in another mode cannot change
// the path of a grant already recorded.
func (a *Activities) RecordDelegatedAdmin(ctx context.Context, in DelegatedAdminInput) (DelegatedAdminRecord, error) {
	if in.Request.DurationDays < 1 || in.Request.DurationDays > 730 {
		return DelegatedAdminRecord{}, temporal.NewNonRetryableApplicationError("delegated admin duration must be 1 to 730 days", ErrTypeInvalidInput, nil)
	}
	status := models.DelegatedAdminActive
	if a.GDAP != nil && a.GDAP.Microsoft.Mode != config.MicrosoftOff {
		status = models.DelegatedAdminApprovalPending
	}
	at := in.ActivatedAt.UTC()
	err := a.PartnerCenter.CreateDelegatedAdminRelationship(ctx, models.DelegatedAdminRelationship{
		ID: in.ID, RelationshipID: in.RelationshipID, CustomerID: in.CustomerID, PartnerID: in.PartnerID,
		Roles: in.Request.Roles, DurationDays: in.Request.DurationDays, AutoExtend: in.Request.AutoExtend,
		Status: status, ActivatedAt: at, EndsAt: at.AddDate(0, 0, in.Request.DurationDays),
		CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC(),
	})
	if err != nil {
		return DelegatedAdminRecord{}, fmt.Errorf("create delegated admin relationship: %w", err)
	}
	d, err := a.Store.DelegatedAdmin(ctx, in.ID)
	if err != nil {
		return DelegatedAdminRecord{}, fmt.Errorf("load delegated admin relationship: %w", err)
	}
	out := DelegatedAdminRecord{Status: d.Status, ViaMicrosoft: d.Status != models.DelegatedAdminActive || d.GraphRelationshipID != nil}
	if !out.ViaMicrosoft {
		return out, nil
	}
	c, err := a.Store.Customer(ctx, in.CustomerID)
	if err != nil {
		return DelegatedAdminRecord{}, fmt.Errorf("load customer: %w", err)
	}
	out.CustomerEmail, out.CustomerName, out.CustomerTenantID = c.ContactEmail, c.CompanyName, c.TenantID
	if r, err := a.Store.Relationship(ctx, in.RelationshipID); err == nil && r.Source == models.SourceInvitation {
		if inv, err := a.Store.Invitation(ctx, r.SourceID); err == nil {
			out.CustomerEmail, out.Locale = nonEmptyString(inv.CustomerEmail, out.CustomerEmail), inv.Locale
		}
	}
	activity.GetLogger(ctx).Info("Delegated admin goes through Microsoft", "delegated_admin_id", in.ID, "mode", a.GDAP.Microsoft.Mode)
	return out, nil
}

func nonEmptyString(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// CustomerListsInput puts a customer on its partners' lists.
type CustomerListsInput struct {
	CustomerID string
	ResellerID string
	ProviderID string
}

// AddCustomerToPartnerLists puts the customer on the reseller's and the provider's list, once.
func (a *Activities) AddCustomerToPartnerLists(ctx context.Context, in CustomerListsInput) error {
	if err := a.Store.LinkCustomerToPartner(ctx, in.CustomerID, in.ResellerID, models.PartnerTypeReseller); err != nil {
		return fmt.Errorf("add customer to reseller list: %w", err)
	}
	if err := a.Store.LinkCustomerToPartner(ctx, in.CustomerID, in.ProviderID, models.PartnerTypeIndirectProvider); err != nil {
		return fmt.Errorf("add customer to provider list: %w", err)
	}
	return nil
}

// SetUpRelationshipInput is the relationship's database step, whole.
type SetUpRelationshipInput struct {
	NewCustomer  *NewCustomer // set when the customer is new to the product
	Relationship ResellerRelationshipInput
	// Recorded, when set, is the onboarding's record of the step (its
	// relationship_created and status), written once the relationship
	// exists, with its id (WithRelationship): the whole business step in one
	// local activity.
	Recorded *Progress `json:",omitempty"`
}

// WithRelationship names the relationship on an onboarding's record of it.
func (p Progress) WithRelationship(id string) Progress {
	p.RelationshipID = id
	p.Details = maps.Clone(p.Details)
	if p.Details == nil {
		p.Details = map[string]string{}
	}
	p.Details["relationship_id"] = id
	return p
}

// SetUpRelationship registers a new customer, creates the reseller
// relationship and puts the customer on both partners' lists: one business
// step, run as one local activity by the lean shape (issue 17) instead of
// three. Each write is an upsert keyed by workflow-chosen ids, so a retry
// after a crash repeats nothing. It answers the active relationship's id.
func (a *Activities) SetUpRelationship(ctx context.Context, in SetUpRelationshipInput) (string, error) {
	if in.NewCustomer != nil {
		if err := a.EnsureCustomer(ctx, *in.NewCustomer); err != nil {
			return "", err
		}
	}
	id, err := a.CreateResellerRelationship(ctx, in.Relationship)
	if err != nil {
		return "", err
	}
	r := in.Relationship
	if err := a.AddCustomerToPartnerLists(ctx, CustomerListsInput{CustomerID: r.CustomerID, ResellerID: r.ResellerID, ProviderID: r.ProviderID}); err != nil {
		return "", err
	}
	if in.Recorded != nil {
		// Its own transaction, keyed by the timeline place: a retry of the
		// whole step finds it written.
		if err := a.RecordProgress(ctx, in.Recorded.WithRelationship(id)); err != nil {
			return "", err
		}
	}
	return id, nil
}

// NoticeOutcome is what became of one notice of SendNotices.
type NoticeOutcome struct {
	Key    string `json:"key"`
	Failed string `json:"failed,omitempty"` // why it was refused for good; empty: sent or held
}

// SendNotices sends notices that share a moment (both partners' "relationship
// created") in one activity: one activity task instead of one per notice.
// Each goes through SendEmail, keyed, so a retry sends none twice. A notice
// refused for good is answered in its outcome and does not hold the others;
// a transient failure of any is retried with the whole batch.
func (a *Activities) SendNotices(ctx context.Context, notices []Email) ([]NoticeOutcome, error) {
	outcomes := make([]NoticeOutcome, len(notices))
	var retry error
	for i, e := range notices {
		outcomes[i].Key = e.Key
		_, err := a.SendEmail(ctx, e)
		var app *temporal.ApplicationError
		switch {
		case err == nil:
		case errors.As(err, &app) && app.NonRetryable():
			outcomes[i].Failed = app.Message()
		case retry == nil:
			retry = err
		}
	}
	return outcomes, retry
}
