package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// TestDatabaseRefusalsAreNotRetried: audit §11 and §15. A row the database
// refuses for good (a foreign key, a CHECK, a NUL on Postgres) ends the
// activity instead of being retried forever; a passing error stays retryable.
func TestDatabaseRefusalsAreNotRetried(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			st := storetest.New(t, dialect)
			rec := models.ConsentRecord{ID: "c1", ExtensionID: "no-such-extension", CustomerID: "x", ProviderID: "x", ResellerID: "x",
				Subject: "a@b.example", Method: "x", SignerEmail: "a@b.example", ObtainedAt: time.Now(), TextShown: "t"}
			_, err := st.RecordConsent(context.Background(), rec)
			if err == nil {
				t.Fatal("an orphan consent record was stored")
			}
			assertNonRetryable(t, NonRetryableIfPermanent(err))
			if dialect == migrations.Postgres {
				rec.Evidence = "with a \x00 byte"
				_, err := st.RecordConsent(context.Background(), rec)
				assertNonRetryable(t, NonRetryableIfPermanent(err))
			}
		})
	}
	if err := NonRetryableIfPermanent(context.DeadlineExceeded); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a timeout became %v", err)
	}
}

func assertNonRetryable(t *testing.T, err error) {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != ErrTypeInvalidData {
		t.Fatalf("%v is not a non-retryable %s", err, ErrTypeInvalidData)
	}
}
