package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/rules"
	"github.com/csp-onboarding/onboarding/store"
)

// extensionStore is what the extension activities read and write, with what
// the extension gates read (rules.Store).
type extensionStore interface {
	rules.Store
	ConsentForExtension(ctx context.Context, extensionID string) (models.ConsentRecord, error)
	Customer(ctx context.Context, id string) (models.Customer, error)
	Extension(ctx context.Context, id string) (models.RelationshipExtension, error)
	Partner(ctx context.Context, id string) (models.Partner, error)
	RecordConsent(ctx context.Context, c models.ConsentRecord) (models.ConsentRecord, error)
	ShareBillTo(ctx context.Context, share models.BillToShare) error
}

// ExtensionGates names what an extension's gates are checked against.
type ExtensionGates struct {
	ResellerID string
	ProviderID string
	CustomerID string
}

// CheckExtensionGates re-checks R1–R3 and the existing relationship inside the
// workflow. A broken rule is final: its code is the error type.
func (a *Activities) CheckExtensionGates(ctx context.Context, in ExtensionGates) error {
	_, err := rules.CheckExtension(ctx, a.Store, rules.Extension{
		ResellerID: in.ResellerID, ProviderID: in.ProviderID, CustomerID: in.CustomerID, ShareBillTo: true,
	})
	if v, ok := rules.AsViolation(err); ok {
		return temporal.NewNonRetryableApplicationError(v.Detail, string(v.Code), nil)
	}
	if err != nil {
		return fmt.Errorf("check extension gates: %w", err)
	}
	return nil
}

// ConsentInput is the evidence of one consent.
type ConsentInput struct {
	ConsentID   string
	ExtensionID string
	Method      string
	ObtainedAt  time.Time
	IP          string
	UserAgent   string
	// Partner attestation only.
	SignerName  string
	SignerEmail string
	Evidence    string
	// SignedIn: the administrator who signed in with Microsoft and consented.
	SignedIn *models.SignedInAccount `json:",omitempty"`
}

// RecordConsent writes the consent record once, with the exact text the
// customer is shown (models.ConsentText), and returns its ID.
func (a *Activities) RecordConsent(ctx context.Context, in ConsentInput) (string, error) {
	x, err := a.Store.Extension(ctx, in.ExtensionID)
	if errors.Is(err, store.ErrNotFound) {
		return "", temporal.NewNonRetryableApplicationError("extension "+in.ExtensionID+" does not exist", ErrTypeNotFound, err)
	}
	if err != nil {
		return "", err
	}
	customer, reseller, provider, err := a.extensionParties(ctx, x)
	if err != nil {
		return "", err
	}
	billTo := models.BillTo{}
	if customer.BillTo != nil {
		billTo = *customer.BillTo
	}
	rec := models.ConsentRecord{
		ID: in.ConsentID, ExtensionID: x.ID, CustomerID: x.CustomerID, ProviderID: x.ProviderID, ResellerID: x.ResellerID,
		Subject: customer.ContactEmail, Method: in.Method, ObtainedAt: in.ObtainedAt, IP: in.IP, UserAgent: in.UserAgent,
		TextShown:  models.ConsentText(x.Locale, reseller.Name, provider.Name, customer.CompanyName, billTo),
		SignerName: in.SignerName, SignerEmail: in.SignerEmail, Evidence: in.Evidence,
	}
	if in.Method == models.ConsentCustomerConfirmation {
		rec.SignerName, rec.SignerEmail = customer.CompanyName, customer.ContactEmail
		rec.Evidence = models.EmailedLinkEvidence(customer.ContactEmail)
		if id := in.SignedIn; id != nil {
			rec.SignerName, rec.SignerEmail, rec.SignedInTenantID, rec.SignedInObjectID = id.Name, id.UPN, id.TenantID, id.ObjectID
			rec.Evidence = models.SignedInEvidence(id.Name, id.UPN, id.ObjectID, id.TenantID)
		}
	}
	stored, err := a.Store.RecordConsent(ctx, rec)
	if err != nil {
		return "", fmt.Errorf("record consent: %w", err)
	}
	activity.GetLogger(ctx).Info("Consent recorded", "extension_id", x.ID, "consent_id", stored.ID, "method", stored.Method)
	return stored.ID, nil
}

// ShareInput asks for the bill-to snapshot to be shared with the provider.
type ShareInput struct {
	ShareID     string
	ExtensionID string
	ConsentID   string
}

// ShareBillTo copies the customer's bill-to info, as it is now, for the
// provider. It refuses to run without a consent record.
func (a *Activities) ShareBillTo(ctx context.Context, in ShareInput) error {
	x, err := a.Store.Extension(ctx, in.ExtensionID)
	if err != nil {
		return fmt.Errorf("load extension: %w", err)
	}
	consent, err := a.Store.ConsentForExtension(ctx, x.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && consent.ID != in.ConsentID) {
		return temporal.NewNonRetryableApplicationError("no consent record for this extension: nothing is shared", string(rules.ConsentEvidenceInvalid), nil)
	}
	if err != nil {
		return err
	}
	customer, err := a.Store.Customer(ctx, x.CustomerID)
	if err != nil {
		return err
	}
	if err := a.Store.ShareBillTo(ctx, models.BillToShare{ID: in.ShareID, CustomerID: x.CustomerID, ProviderID: x.ProviderID,
		ResellerID: x.ResellerID, ConsentID: consent.ID, Snapshot: customer.BillTo}); err != nil {
		return fmt.Errorf("share bill-to: %w", err)
	}
	return nil
}

func (a *Activities) extensionParties(ctx context.Context, x models.RelationshipExtension) (models.Customer, models.Partner, models.Partner, error) {
	customer, err := a.Store.Customer(ctx, x.CustomerID)
	if err != nil {
		return customer, models.Partner{}, models.Partner{}, err
	}
	reseller, err := a.Store.Partner(ctx, x.ResellerID)
	if err != nil {
		return customer, reseller, models.Partner{}, err
	}
	provider, err := a.Store.Partner(ctx, x.ProviderID)
	return customer, reseller, provider, err
}
