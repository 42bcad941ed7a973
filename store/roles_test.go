package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// TestTheAppRoleCannotAlterConsentRecords: audit §13. On Postgres the app
// connects as a role that migrate granted: it appends and reads consent
// records but cannot update, delete, truncate or alter them (so it cannot
// disable their triggers either), while its other tables work as before.
func TestTheAppRoleCannotAlterConsentRecords(t *testing.T) {
	st := storetest.New(t, migrations.Postgres)
	ctx := context.Background()
	role := fmt.Sprintf("onboarding_app_test_%d", time.Now().UnixNano())
	if err := st.DB().Exec("CREATE ROLE " + role + " NOLOGIN").Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = st.DB().Exec("DROP OWNED BY " + role).Error
		_ = st.DB().Exec("DROP ROLE " + role).Error
	})
	if err := st.GrantAppRole(ctx, "no_such_role_"+role); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("a missing role: %v", err)
	}
	if err := st.GrantAppRole(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := st.GrantAppRole(ctx, role); err != nil {
		t.Fatalf("granting twice: %v", err)
	}
	prov, res := partner(t, st, models.PartnerTypeIndirectProvider), partner(t, st, models.PartnerTypeReseller)
	cust := customer(t, st, res.ID)
	now := time.Now().UTC()
	x := models.RelationshipExtension{ID: id(), ResellerID: res.ID, ProviderID: prov.ID, CustomerID: cust.ID,
		Status: models.ExtensionWaitingForConsent, ConsentMethod: models.ConsentCustomerConfirmation, WorkflowID: "w",
		ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
	if err := st.CreateExtension(ctx, &x); err != nil {
		t.Fatal(err)
	}

	// asApp runs one statement as the app role, in a transaction rolled back after.
	asApp := func(q string, args ...any) error {
		errDone := fmt.Errorf("rolled back")
		err := st.DB().Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SET LOCAL ROLE " + role).Error; err != nil {
				return err
			}
			if err := tx.Exec(q, args...).Error; err != nil {
				return err
			}
			return errDone
		})
		if err == errDone {
			return nil
		}
		return err
	}
	recID := id()
	insert := `INSERT INTO consent_records (id, extension_id, customer_id, provider_id, reseller_id, subject, method, signer_email, obtained_at, text_shown, created_at)
		VALUES (?, ?, ?, ?, ?, 'a@b.example', 'customer_confirmation', 'a@b.example', now(), 'the text', now())`
	if err := asApp(insert, recID, x.ID, cust.ID, prov.ID, res.ID); err != nil {
		t.Fatalf("the app role cannot append a consent record: %v", err)
	}
	if err := asApp("UPDATE relationship_extensions SET status = status WHERE id = ?", x.ID); err != nil {
		t.Fatalf("the app role cannot update its other tables: %v", err)
	}
	if _, err := st.RecordConsent(ctx, models.ConsentRecord{ID: recID, ExtensionID: x.ID, CustomerID: cust.ID, ProviderID: prov.ID,
		ResellerID: res.ID, Subject: "a@b.example", Method: models.ConsentCustomerConfirmation, SignerEmail: "a@b.example", ObtainedAt: now, TextShown: "t"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"UPDATE consent_records SET evidence = 'forged'",
		"DELETE FROM consent_records",
		"TRUNCATE consent_records",
		"ALTER TABLE consent_records DISABLE TRIGGER USER",
		"DROP TRIGGER consent_records_no_change ON consent_records",
		"ALTER TABLE consent_records OWNER TO " + role,
	} {
		err := asApp(q)
		if err == nil {
			t.Errorf("the app role could: %s", q)
		} else if !strings.Contains(err.Error(), "permission denied") && !strings.Contains(err.Error(), "must be owner") {
			t.Errorf("%s: refused for another reason: %v", q, err)
		}
	}
}
