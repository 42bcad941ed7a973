// Package rules holds the channel's rules (docs/domain.md, R1–R9) in one place:
// the gates of a relationship extension, the consent evidence a partner may
// attest, and a customer's order eligibility. The API checks them before a
// process starts; the workflows check them again, because state can change
// between the request and the run.
package rules

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
)

// Codes of the rules: problem codes of the API, declared once in the
// ProblemCode enum of api/openapi.yaml.
const (
	NotDirectBillPartner             = oapi.NotDirectBillPartner
	EnrollmentNotApproved            = oapi.EnrollmentNotApproved
	CustomerNotDirectBill            = oapi.CustomerNotDirectBill
	PartnershipNotActive             = oapi.PartnershipNotActive
	BillToSharingNotAcknowledged     = oapi.BillToSharingNotAcknowledged
	DelegatedAdminRequiresInvitation = oapi.DelegatedAdminRequiresInvitation
	ConsentEvidenceInvalid           = oapi.ConsentEvidenceInvalid
	RelationshipExists               = oapi.RelationshipExists
	ContactEmailNotCustomers         = oapi.ContactEmailNotCustomers
	CustomerNotFound                 = oapi.NotFound

	// Order eligibility reasons.
	ReasonRelationshipRequired       = "reseller-relationship-required" // R7
	ReasonAcquiredAsIndirectReseller = "acquired-as-indirect-reseller"  // R8
)

// Violation is a broken rule: its code and what to do about it.
type Violation struct {
	Code   oapi.ProblemCode
	Detail string
}

func (v *Violation) Error() string { return string(v.Code) + ": " + v.Detail }

// AsViolation finds a rule violation in an error chain.
func AsViolation(err error) (*Violation, bool) {
	var v *Violation
	ok := errors.As(err, &v)
	return v, ok
}

// Store is what the rules read.
type Store interface {
	Partner(ctx context.Context, id string) (models.Partner, error)
	CustomerOfPartner(ctx context.Context, partnerID, customerID string) (models.Customer, error)
	PartnershipActive(ctx context.Context, providerID, resellerID string) (bool, error)
	RelationshipActive(ctx context.Context, customerID, providerID, resellerID string) (bool, error)
	ActivePartnerships(ctx context.Context, resellerID string) ([]models.Partnership, error)
	CustomerRelationships(ctx context.Context, partnerID, customerID string, statuses ...string) ([]models.Relationship, error)
}

// Extension is a request to extend a direct-bill customer's relationship.
type Extension struct {
	ResellerID             string
	ProviderID             string
	CustomerID             string
	ShareBillTo            bool
	DelegatedAdminRequired bool
}

// CheckExtension applies R1–R5 and refuses an extension that already exists.
// It returns the first violation in rule order, or an error the store raised;
// when every gate passed, the provider and the customer it loaded.
func CheckExtension(ctx context.Context, st Store, x Extension) (Parties, error) {
	reseller, err := st.Partner(ctx, x.ResellerID)
	if err != nil {
		return Parties{}, err
	}
	if reseller.Type != models.PartnerTypeReseller || !reseller.DirectBill {
		return Parties{}, &Violation{NotDirectBillPartner, "only a direct-bill partner that became an indirect reseller can extend its direct-bill customers' relationships (R1)"}
	}
	if reseller.EnrollmentStatus != models.EnrollmentApproved {
		return Parties{}, &Violation{EnrollmentNotApproved, fmt.Sprintf("your indirect-reseller enrollment is %s; it must be approved first (POST /v1/enrollment) (R1)", strings.ReplaceAll(reseller.EnrollmentStatus, "_", " "))}
	}
	customer, err := st.CustomerOfPartner(ctx, reseller.ID, x.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return Parties{}, &Violation{CustomerNotFound, "no customer with this id among yours"}
	}
	if err != nil {
		return Parties{}, err
	}
	if customer.AcquiredVia != models.AcquiredViaDirectBill || customer.CreatedBy != reseller.ID {
		return Parties{}, &Violation{CustomerNotDirectBill, "this customer was not acquired as your direct-bill customer; use an invitation instead (R2)"}
	}
	provider, err := st.Partner(ctx, x.ProviderID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Parties{}, err
	}
	active := false
	if err == nil && provider.Type == models.PartnerTypeIndirectProvider {
		if active, err = st.PartnershipActive(ctx, provider.ID, reseller.ID); err != nil {
			return Parties{}, err
		}
	}
	if !active {
		return Parties{}, &Violation{PartnershipNotActive, "you have no active partnership with this provider; accept its partnership invitation first (R3)"}
	}
	if !x.ShareBillTo {
		return Parties{}, &Violation{BillToSharingNotAcknowledged, "set share_bill_to to true to acknowledge that a copy of the customer's bill-to information is shared with the provider (R4)"}
	}
	if x.DelegatedAdminRequired {
		return Parties{}, &Violation{DelegatedAdminRequiresInvitation, "an extension grants no delegated admin rights; send the customer an invitation with a delegated admin request instead (POST /v1/invitations) (R5)"}
	}
	exists, err := st.RelationshipActive(ctx, customer.ID, provider.ID, reseller.ID)
	if err != nil {
		return Parties{}, err
	}
	if exists {
		return Parties{}, &Violation{RelationshipExists, "this customer already has an active reseller relationship with you and this provider; nothing needs to be done"}
	}
	return Parties{Provider: provider, Customer: &customer}, nil
}

// Attestation is a partner's statement that it obtained the customer's consent.
type Attestation struct {
	SignerName  string
	SignerEmail string
	ObtainedAt  time.Time
	Evidence    string
}

// MaxAttestationAge is how old an attested consent may be.
const MaxAttestationAge = 90 * 24 * time.Hour

// CheckAttestation applies R6 to partner-attested consent.
func CheckAttestation(a Attestation, now time.Time, allowed bool) error {
	if !allowed {
		return &Violation{ConsentEvidenceInvalid, "partner attestation is not allowed by this installation's policy; use consent method customer_confirmation"}
	}
	var problems []string
	if n := len(strings.TrimSpace(a.SignerName)); n == 0 || n > 200 || hasControl(a.SignerName, false) {
		problems = append(problems, "signer_name is required (at most 200 characters of plain text)")
	}
	if addr, err := mail.ParseAddress(a.SignerEmail); err != nil || addr.Address != a.SignerEmail {
		problems = append(problems, "signer_email must be the e-mail address of the person who consented")
	}
	switch {
	case a.ObtainedAt.IsZero():
		problems = append(problems, "obtained_at is required (RFC 3339 time)")
	case a.ObtainedAt.After(now.Add(time.Minute)):
		problems = append(problems, "obtained_at cannot be in the future")
	case a.ObtainedAt.Before(now.Add(-MaxAttestationAge)):
		problems = append(problems, "obtained_at is older than 90 days; obtain consent again")
	}
	if n := len(strings.TrimSpace(a.Evidence)); n < 10 || n > 5000 || hasControl(a.Evidence, true) {
		problems = append(problems, "evidence must describe how consent was obtained (10 to 5000 characters of plain text)")
	}
	if len(problems) > 0 {
		return &Violation{ConsentEvidenceInvalid, strings.Join(problems, "; ")}
	}
	return nil
}

// hasControl finds control and invisible formatting characters: a NUL, for
// one, is refused by Postgres when the consent record is written, which would
// leave the workflow retrying a write that can never succeed.
func hasControl(s string, allowNewlines bool) bool {
	for _, r := range s {
		switch {
		case allowNewlines && (r == '\n' || r == '\t'):
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			return true
		}
	}
	return false
}

// Eligibility says whether a partner may order for, and transfer subscriptions of, a customer.
type Eligibility struct {
	PartnerID   string   `json:"partner_id"`
	Role        string   `json:"role"`
	CanOrder    bool     `json:"can_order"`
	CanTransfer bool     `json:"can_transfer"`
	Reasons     []string `json:"reasons"`
}

// OrderEligibility applies R7 and R8 for every partner around the customer
// that the viewer may know about: a reseller sees itself and its providers, a
// provider sees itself.
func OrderEligibility(ctx context.Context, st Store, customer models.Customer, viewer models.Partner) ([]Eligibility, error) {
	rels, err := st.CustomerRelationships(ctx, viewer.ID, customer.ID, models.RelationshipActive)
	if err != nil {
		return nil, err
	}
	related := map[string]bool{}
	for _, r := range rels {
		related[r.ProviderID] = true
	}
	if viewer.Type == models.PartnerTypeIndirectProvider {
		return []Eligibility{providerEligibility(viewer.ID, related[viewer.ID])}, nil
	}
	out := []Eligibility{}
	own := Eligibility{PartnerID: viewer.ID, Role: models.PartnerTypeReseller, Reasons: []string{}}
	if customer.AcquiredVia == models.AcquiredViaDirectBill && customer.CreatedBy == viewer.ID {
		own.CanOrder, own.CanTransfer = true, true
	} else {
		own.Reasons = append(own.Reasons, ReasonAcquiredAsIndirectReseller)
	}
	out = append(out, own)
	partnerships, err := st.ActivePartnerships(ctx, viewer.ID)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range partnerships {
		seen[p.ProviderID] = true
		out = append(out, providerEligibility(p.ProviderID, related[p.ProviderID]))
	}
	for _, r := range rels { // a provider whose partnership ended still holds its relationship
		if !seen[r.ProviderID] {
			seen[r.ProviderID] = true
			out = append(out, providerEligibility(r.ProviderID, true))
		}
	}
	return out, nil
}

func providerEligibility(providerID string, hasRelationship bool) Eligibility {
	e := Eligibility{PartnerID: providerID, Role: models.PartnerTypeIndirectProvider, CanOrder: hasRelationship, CanTransfer: hasRelationship, Reasons: []string{}}
	if !hasRelationship {
		e.Reasons = append(e.Reasons, ReasonRelationshipRequired)
	}
	return e
}
