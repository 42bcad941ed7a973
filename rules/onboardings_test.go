package rules

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

func TestCheckInvitation(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t, migrations.SQLite)
	now := time.Now().UTC()
	newID := func() string { return uuid.Must(uuid.NewV7()).String() }
	partner := func(typ string) models.Partner {
		p := models.Partner{ID: newID(), Name: typ, Type: typ, ContactEmail: typ + "@example.com", EnrollmentStatus: models.EnrollmentNotEnrolled, CreatedAt: now, UpdatedAt: now}
		if err := st.CreatePartner(ctx, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	provider, lonely, reseller := partner(models.PartnerTypeIndirectProvider), partner(models.PartnerTypeIndirectProvider), partner(models.PartnerTypeReseller)
	ps := models.Partnership{ID: newID(), ProviderID: provider.ID, ResellerID: reseller.ID, Status: models.PartnershipActive, WorkflowID: "w", ExpiresAt: now, CreatedAt: now, UpdatedAt: now}
	if err := st.CreatePartnership(ctx, &ps); err != nil {
		t.Fatal(err)
	}
	customer := func(by models.Partner) models.Customer {
		c := models.Customer{ID: newID(), CompanyName: "Northwind", ContactEmail: "admin@northwind.example", AcquiredVia: models.AcquiredViaDirectBill, CreatedBy: by.ID, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateCustomer(ctx, &c, "reseller"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	mine, related, theirs := customer(reseller), customer(reseller), customer(provider)
	if _, err := st.CreateRelationship(ctx, models.Relationship{ID: newID(), CustomerID: related.ID, ProviderID: provider.ID, ResellerID: reseller.ID,
		Source: models.SourceInvitation, SourceID: newID(), Status: models.RelationshipActive}); err != nil {
		t.Fatal(err)
	}

	field := func(err error) string {
		var f *InvalidField
		if errors.As(err, &f) {
			return f.Field
		}
		return ""
	}
	code := func(err error) string {
		if v, ok := AsViolation(err); ok {
			return string(v.Code)
		}
		return ""
	}
	check := func(providerID, customerID string) (Parties, error) {
		return CheckInvitation(ctx, st, Invitation{Reseller: reseller, ProviderID: providerID, CustomerID: customerID, Contact: Contact{Email: "admin@northwind.example"}})
	}
	if _, err := check(newID(), ""); field(err) != "provider_id" {
		t.Errorf("unknown provider: %v", err)
	}
	if _, err := check(reseller.ID, ""); field(err) != "provider_id" {
		t.Errorf("a reseller as provider: %v", err)
	}
	if _, err := check(lonely.ID, ""); code(err) != string(PartnershipNotActive) {
		t.Errorf("no partnership: %v", err)
	}
	if _, err := check(provider.ID, theirs.ID); field(err) != "customer.customer_id" {
		t.Errorf("another partner's customer: %v", err)
	}
	if _, err := check(provider.ID, related.ID); code(err) != string(RelationshipExists) {
		t.Errorf("relationship exists: %v", err)
	}
	p, err := check(provider.ID, "")
	if err != nil || p.Provider.ID != provider.ID || p.Customer != nil {
		t.Errorf("new customer: %+v %v", p, err)
	}
	p, err = check(provider.ID, mine.ID)
	if err != nil || p.Provider.ID != provider.ID || p.Customer == nil || p.Customer.ID != mine.ID {
		t.Errorf("existing customer: %+v %v", p, err)
	}
}

func TestCheckTenantRequest(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t, migrations.SQLite)
	now := time.Now().UTC()
	partner := func(typ string) models.Partner {
		p := models.Partner{ID: uuid.Must(uuid.NewV7()).String(), Name: typ, Type: typ, ContactEmail: typ + "@example.com", EnrollmentStatus: models.EnrollmentNotEnrolled, CreatedAt: now, UpdatedAt: now}
		if err := st.CreatePartner(ctx, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	provider, lonely, reseller := partner(models.PartnerTypeIndirectProvider), partner(models.PartnerTypeIndirectProvider), partner(models.PartnerTypeReseller)
	ps := models.Partnership{ID: uuid.Must(uuid.NewV7()).String(), ProviderID: provider.ID, ResellerID: reseller.ID, Status: models.PartnershipActive, WorkflowID: "w", ExpiresAt: now, CreatedAt: now, UpdatedAt: now}
	if err := st.CreatePartnership(ctx, &ps); err != nil {
		t.Fatal(err)
	}
	check := func(providerID string) (Parties, error) {
		return CheckTenantRequest(ctx, st, TenantRequest{ResellerID: reseller.ID, ProviderID: providerID})
	}
	var f *InvalidField
	if _, err := check(reseller.ID); !errors.As(err, &f) || f.Field != "provider_id" {
		t.Errorf("a reseller as provider: %v", err)
	}
	if _, err := check(lonely.ID); err == nil || !strings.Contains(err.Error(), "only your providers create tenants") {
		t.Errorf("no partnership: %v", err)
	}
	if v, ok := AsViolation(func() error { _, err := check(lonely.ID); return err }()); !ok || v.Code != PartnershipNotActive {
		t.Errorf("no partnership: %v", v)
	}
	if p, err := check(provider.ID); err != nil || p.Provider.ID != provider.ID {
		t.Errorf("active partnership: %+v %v", p, err)
	}
}
