package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

// tenantStore is what the tenant request activities read and write.
type tenantStore interface {
	CreateCustomer(ctx context.Context, c *models.Customer, role string) error
	Customer(ctx context.Context, id string) (models.Customer, error)
	CustomerDomainTaken(ctx context.Context, domain string) (bool, error)
	SetTenantID(ctx context.Context, id, tenantID string) error
	TenantRequest(ctx context.Context, id string) (models.CustomerTenantRequest, error)
}

// ErrTypeDomainTaken: the domain belongs to another customer by now.
const ErrTypeDomainTaken = "conflict"

// TenantCustomerInput names the customer a provider's new tenant becomes.
type TenantCustomerInput struct {
	RequestID  string
	CustomerID string
	TenantID   string
}

// CreateTenantCustomer creates the customer of an approved tenant request,
// once, with acquired_via tenant_request and the reseller designated on it.
func (a *Activities) CreateTenantCustomer(ctx context.Context, in TenantCustomerInput) error {
	r, err := a.Store.TenantRequest(ctx, in.RequestID)
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError("tenant request "+in.RequestID+" does not exist", ErrTypeNotFound, err)
	}
	if err != nil {
		return err
	}
	if existing, err := a.Store.Customer(ctx, in.CustomerID); err == nil && existing.ID == in.CustomerID {
		return nil // created by an earlier attempt
	}
	taken, err := a.Store.CustomerDomainTaken(ctx, r.Domain)
	if err != nil {
		return err
	}
	if taken {
		return temporal.NewNonRetryableApplicationError("the domain "+r.Domain+" was registered to another customer meanwhile", ErrTypeDomainTaken, nil)
	}
	if err := a.Store.SetTenantID(ctx, r.ID, in.TenantID); err != nil {
		return err
	}
	at := time.Now().UTC()
	c := models.Customer{ID: in.CustomerID, CompanyName: r.CompanyName, Domain: r.Domain, ContactEmail: r.ContactEmail,
		AcquiredVia: models.AcquiredViaTenantRequest, CreatedBy: r.ResellerID, BillTo: r.BillTo, TenantID: in.TenantID, CreatedAt: at, UpdatedAt: at}
	if err := a.Store.CreateCustomer(ctx, &c, models.PartnerTypeReseller); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return temporal.NewNonRetryableApplicationError("the domain "+r.Domain+" was registered to another customer meanwhile", ErrTypeDomainTaken, err)
		}
		return fmt.Errorf("create tenant customer: %w", err)
	}
	return nil
}
