package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/csp-onboarding/onboarding/migrations"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

func forEachDialect(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, storetest.New(t, d))
		})
	}
}

func id() string { return uuid.Must(uuid.NewV7()).String() }

func partner(t *testing.T, st *store.Store, typ string) models.Partner {
	t.Helper()
	_, hash := secret.New(secret.APIKeyPrefix)
	now := time.Now().UTC()
	p := models.Partner{ID: id(), Name: typ + " partner", Type: typ, ContactEmail: typ + "@example.com", APIKeyHash: hash,
		EnrollmentStatus: "not_enrolled", CreatedAt: now, UpdatedAt: now}
	if err := st.CreatePartner(context.Background(), &p); err != nil {
		t.Fatalf("create partner: %v", err)
	}
	return p
}

func customer(t *testing.T, st *store.Store, createdBy string) models.Customer {
	t.Helper()
	now := time.Now().UTC()
	c := models.Customer{ID: id(), CompanyName: "Northwind", ContactEmail: "admin@northwind.example",
		AcquiredVia: models.AcquiredViaInvitation, CreatedBy: createdBy, CreatedAt: now, UpdatedAt: now}
	if err := st.UpsertCustomer(context.Background(), &c); err != nil {
		t.Fatalf("create customer: %v", err)
	}
	return c
}

func TestMigrationsRollBackAndReapply(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		sqlDB, err := st.DB().DB()
		if err != nil {
			t.Fatal(err)
		}
		v, err := migrations.Version(ctx, sqlDB, st.Dialect())
		if err != nil || v < 2 {
			t.Fatalf("version after migrate = %d, %v; want the latest", v, err)
		}
		if err := migrations.Reset(ctx, sqlDB, st.Dialect()); err != nil {
			t.Fatalf("down: %v", err)
		}
		if err := st.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Partner(ctx, "x"); err == nil {
			t.Fatal("partners table survived the down migration")
		}
		// Numbers are reserved per branch (CONTRACTS.md), so they may have gaps:
		// every migration comes back, up to the same version.
		applied, err := st.Migrate(ctx)
		// Versions may have gaps (branches reserve their numbers): compare the last.
		if err != nil || len(applied) == 0 || applied[len(applied)-1] != v {
			t.Fatalf("re-apply: %v %v", applied, err)
		}
		again, err := st.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate should apply nothing: %v %v", again, err)
		}
	})
}

func TestPartnerAPIKeyLookupAndUniqueness(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := partner(t, st, models.PartnerTypeReseller)
		_, got, err := st.APIKeyByHash(ctx, p.APIKeyHash)
		if err != nil || got.ID != p.ID {
			t.Fatalf("lookup by key hash: %+v %v", got, err)
		}
		if _, _, err := st.APIKeyByHash(ctx, secret.Hash("wrong")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown key: %v, want ErrNotFound", err)
		}
		dup := p
		dup.ID = id()
		if err := st.CreatePartner(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("same key hash twice: %v, want ErrConflict", err)
		}
	})
}

func TestOnePartnershipPerPairWhileOpen(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		prov, res := partner(t, st, models.PartnerTypeIndirectProvider), partner(t, st, models.PartnerTypeReseller)
		mk := func() *models.Partnership {
			now := time.Now().UTC()
			return &models.Partnership{ID: id(), ProviderID: prov.ID, ResellerID: res.ID, Status: models.PartnershipInvited,
				WorkflowID: "w", ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
		}
		first := mk()
		if err := st.CreatePartnership(ctx, first); err != nil {
			t.Fatal(err)
		}
		if err := st.CreatePartnership(ctx, mk()); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second open partnership: %v, want ErrConflict", err)
		}
		if err := st.SetPartnershipStatus(ctx, first.ID, models.PartnershipDeclined); err != nil {
			t.Fatal(err)
		}
		if err := st.CreatePartnership(ctx, mk()); err != nil {
			t.Fatalf("after a decline a new invitation is allowed: %v", err)
		}
		if active, _ := st.PartnershipActive(ctx, prov.ID, res.ID); active {
			t.Fatal("no partnership was accepted yet")
		}
	})
}

func TestRelationshipCreatedOncePerTriple(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		prov, res := partner(t, st, models.PartnerTypeIndirectProvider), partner(t, st, models.PartnerTypeReseller)
		cust := customer(t, st, res.ID)
		r := models.Relationship{ID: id(), CustomerID: cust.ID, ProviderID: prov.ID, ResellerID: res.ID,
			Source: models.SourceInvitation, SourceID: "inv", Status: models.RelationshipActive}
		first, err := st.CreateRelationship(ctx, r)
		if err != nil || first.ID != r.ID {
			t.Fatalf("create: %+v %v", first, err)
		}
		retried, err := st.CreateRelationship(ctx, r) // the same activity, retried
		if err != nil || retried.ID != r.ID {
			t.Fatalf("retry: %+v %v", retried, err)
		}
		other := r
		other.ID = id() // another process asking for the same triple
		again, err := st.CreateRelationship(ctx, other)
		if err != nil || again.ID != r.ID {
			t.Fatalf("second ID for the triple must return the first: %+v %v", again, err)
		}
		if n, _ := storetest.CountRelationships(ctx, st, cust.ID, prov.ID, res.ID); n != 1 {
			t.Fatalf("relationships for the triple = %d, want 1", n)
		}
	})
}

func TestQueueMessageKeepsFirstWriteAndItsToken(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		tok := &models.LinkToken{Hash: secret.Hash("one"), Purpose: models.LinkPurposeInvitation, SubjectID: "inv-1", ExpiresAt: time.Now().Add(time.Hour)}
		msg := models.OutboxMessage{Key: "invitation:inv-1:initial", ToAddr: "a@b.example", Subject: "s", Body: "link one"}
		first, err := st.QueueMessage(ctx, msg, tok)
		if err != nil || first.Status != models.OutboxPending {
			t.Fatalf("queue: %+v %v", first, err)
		}
		tok2 := &models.LinkToken{Hash: secret.Hash("two"), Purpose: models.LinkPurposeInvitation, SubjectID: "inv-1", ExpiresAt: time.Now().Add(time.Hour)}
		msg.Body = "link two"
		second, err := st.QueueMessage(ctx, msg, tok2)
		if err != nil || second.Body != "link one" {
			t.Fatalf("a retry must return the first message: %+v %v", second, err)
		}
		if _, err := st.LinkToken(ctx, secret.Hash("two")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a retry must not mint a second token: %v", err)
		}
		if got, err := st.LinkToken(ctx, secret.Hash("one")); err != nil || got.EmailKey != msg.Key {
			t.Fatalf("the link must name the e-mail that carries it: %+v %v", got, err)
		}
		if err := st.MarkMessage(ctx, msg.Key, models.OutboxSent, ""); err != nil {
			t.Fatal(err)
		}
		msgs, err := storetest.MessagesTo(ctx, st, "a@b.example")
		if err != nil || len(msgs) != 1 || msgs[0].Status != models.OutboxSent || msgs[0].Attempts != 1 || msgs[0].SentAt == nil {
			t.Fatalf("messages: %+v %v", msgs, err)
		}
	})
}

func TestLinkTokensCloseTogether(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		for i := range 2 {
			if err := storetest.CreateLinkToken(ctx, st, models.LinkToken{Hash: secret.Hash(fmt.Sprint(i)), Purpose: models.LinkPurposeInvitation,
				SubjectID: "inv-2", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.CloseLinkTokens(ctx, "inv-2", time.Now()); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			tok, err := st.LinkToken(ctx, secret.Hash(fmt.Sprint(i)))
			if err != nil || tok.UsedAt == nil {
				t.Fatalf("token %d still open: %+v %v", i, tok, err)
			}
		}
	})
}

func TestIdempotencyKeyIsClaimedWithItsRowOrNotAtAll(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		prov, res := partner(t, st, models.PartnerTypeIndirectProvider), partner(t, st, models.PartnerTypeReseller)
		row := func(id string) *models.Partnership {
			now := time.Now().UTC()
			return &models.Partnership{ID: id, ProviderID: prov.ID, ResellerID: res.ID, Status: models.PartnershipInvited,
				WorkflowID: "partnership:" + id, ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
		}
		start := func(id string) models.WorkflowStart {
			return models.WorkflowStart{WorkflowID: "partnership:" + id, Kind: "partnership", SubjectID: id}
		}
		k := models.IdempotencyKey{PartnerID: prov.ID, Key: "k", Operation: "create-partnership", RequestHash: "h1", ResourceID: "r1"}
		if existing, err := st.CreateOnboarding(ctx, &k, row("r1"), start("r1")); err != nil || existing != "" {
			t.Fatalf("first create: %q %v", existing, err)
		}
		if pending, err := st.PendingStart(ctx, "partnership:r1"); err != nil || !pending {
			t.Fatalf("the start is pending with its row: %v %v", pending, err)
		}
		// A concurrent duplicate under the same key writes nothing and gets the first resource.
		k2 := k
		k2.ResourceID = "r2"
		if existing, err := st.CreateOnboarding(ctx, &k2, row("r2"), start("r2")); err != nil || existing != "r1" {
			t.Fatalf("duplicate: %q %v", existing, err)
		}
		if got, found, err := st.IdempotentResource(ctx, k2); err != nil || !found || got != "r1" {
			t.Fatalf("replay lookup: %s %v %v", got, found, err)
		}
		k2.RequestHash = "h2"
		if _, _, err := st.IdempotentResource(ctx, k2); !errors.Is(err, store.ErrIdempotencyKeyReused) {
			t.Fatalf("different request under the same key: %v", err)
		}
		// A row refused by a unique index leaves its key free: no key bound to nothing.
		k3 := models.IdempotencyKey{PartnerID: prov.ID, Key: "k3", Operation: "create-partnership", RequestHash: "h3", ResourceID: "r3"}
		if _, err := st.CreateOnboarding(ctx, &k3, row("r3"), start("r3")); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second open partnership of the pair: %v", err)
		}
		if _, found, err := st.IdempotentResource(ctx, k3); err != nil || found {
			t.Fatalf("the key of a refused row stays free: %v %v", found, err)
		}
		if pending, _ := st.PendingStart(ctx, "partnership:r3"); pending {
			t.Fatal("a refused row left a pending start")
		}
		k.PartnerID = res.ID // keys are per partner
		if _, found, err := st.IdempotentResource(ctx, k); err != nil || found {
			t.Fatalf("another partner's key: %v %v", found, err)
		}
	})
}

func TestListsPaginateNewestFirstAndStaySeparate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		prov, res, stranger := partner(t, st, models.PartnerTypeIndirectProvider), partner(t, st, models.PartnerTypeReseller), partner(t, st, models.PartnerTypeReseller)
		var ids []string
		for i := range 5 {
			now := time.Now().UTC()
			inv := models.Invitation{ID: id(), ResellerID: res.ID, ProviderID: prov.ID, CustomerEmail: fmt.Sprintf("c%d@x.example", i),
				Status: models.InvitationWaitingForCustomer, WorkflowID: "w", ExpiresAt: now, CreatedAt: now, UpdatedAt: now}
			if i == 4 {
				inv.Status = models.InvitationDeclined
			}
			if err := st.CreateInvitation(ctx, &inv); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, inv.ID)
		}
		page1, next, err := st.ListInvitations(ctx, res.ID, "", store.Page{Limit: 3})
		if err != nil || len(page1) != 3 || next == "" || page1[0].ID != ids[4] {
			t.Fatalf("page 1: %d items, next %q, %v", len(page1), next, err)
		}
		page2, next2, err := st.ListInvitations(ctx, res.ID, "", store.Page{Limit: 3, Cursor: next})
		if err != nil || len(page2) != 2 || next2 != "" || page2[1].ID != ids[0] {
			t.Fatalf("page 2: %d items, next %q, %v", len(page2), next2, err)
		}
		waiting, _, _ := st.ListInvitations(ctx, res.ID, models.InvitationWaitingForCustomer, store.Page{Limit: 10})
		if len(waiting) != 4 {
			t.Fatalf("status filter: %d, want 4", len(waiting))
		}
		if others, _, _ := st.ListInvitations(ctx, stranger.ID, "", store.Page{Limit: 10}); len(others) != 0 {
			t.Fatalf("another reseller sees %d invitations", len(others))
		}
	})
}

func TestEventsAppendOncePerSeq(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
		for i := range 2 { // a retried activity writes the same step twice
			wrote, err := st.AppendEvent(ctx, models.OnboardingEvent{SubjectID: "inv", Seq: 1, Type: "invitation_sent", At: at,
				Details: map[string]string{"to": "a@b.example"}})
			if err != nil || wrote != (i == 0) {
				t.Fatalf("attempt %d: wrote=%v err=%v", i, wrote, err)
			}
		}
		if _, err := st.AppendEvent(ctx, models.OnboardingEvent{SubjectID: "inv", Seq: 2, Type: "customer_accepted", At: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		events, err := st.Events(ctx, "inv")
		if err != nil || len(events) != 2 || events[0].Type != "invitation_sent" || events[0].Details["to"] != "a@b.example" || !events[1].At.Equal(at.Add(time.Hour)) {
			t.Fatalf("events: %+v %v", events, err)
		}
	})
}

func TestConsentRecordsAreAppendOnly(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		prov, res := partner(t, st, models.PartnerTypeIndirectProvider), partner(t, st, models.PartnerTypeReseller)
		cust := customer(t, st, res.ID)
		now := time.Now().UTC()
		x := models.RelationshipExtension{ID: id(), ResellerID: res.ID, ProviderID: prov.ID, CustomerID: cust.ID,
			Status: models.ExtensionWaitingForConsent, ConsentMethod: models.ConsentCustomerConfirmation, WorkflowID: "w",
			ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
		if err := st.CreateExtension(ctx, &x); err != nil {
			t.Fatal(err)
		}
		rec := models.ConsentRecord{ID: id(), ExtensionID: x.ID, CustomerID: cust.ID, ProviderID: prov.ID, ResellerID: res.ID,
			Subject: cust.ContactEmail, Method: models.ConsentCustomerConfirmation, SignerEmail: cust.ContactEmail,
			ObtainedAt: now, IP: "203.0.113.1", TextShown: "the text"}
		stored, err := st.RecordConsent(ctx, rec)
		if err != nil || stored.ID != rec.ID {
			t.Fatalf("record: %+v %v", stored, err)
		}
		again := rec
		again.ID, again.TextShown = id(), "another text"
		if second, err := st.RecordConsent(ctx, again); err != nil || second.ID != rec.ID || second.TextShown != "the text" {
			t.Fatalf("a retried record must return the first one: %+v %v", second, err)
		}

		if err := st.DB().Model(&models.ConsentRecord{}).Where("id = ?", rec.ID).Update("text_shown", "edited").Error; err == nil {
			t.Fatal("a consent record was updated")
		}
		if err := st.DB().Where("id = ?", rec.ID).Delete(&models.ConsentRecord{}).Error; err == nil {
			t.Fatal("a consent record was deleted")
		}
		if err := st.DB().Exec("DELETE FROM consent_records").Error; err == nil {
			t.Fatal("consent records were deleted in bulk")
		}
		got, err := st.ConsentForExtension(ctx, x.ID)
		if err != nil || got.TextShown != "the text" || got.IP != "203.0.113.1" {
			t.Fatalf("the record changed: %+v %v", got, err)
		}

		// Nothing rests on a missing consent: no share, no extension relationship.
		if err := st.ShareBillTo(ctx, models.BillToShare{ID: id(), CustomerID: cust.ID, ProviderID: prov.ID, ResellerID: res.ID, ConsentID: "missing"}); err == nil {
			t.Fatal("a bill-to share without a consent record was stored")
		}
		if _, err := st.CreateRelationship(ctx, models.Relationship{ID: id(), CustomerID: cust.ID, ProviderID: prov.ID, ResellerID: res.ID,
			Source: models.SourceExtension, SourceID: x.ID, Status: models.RelationshipActive}); err == nil {
			t.Fatal("an extension relationship without a consent record was stored")
		}
		consentID := rec.ID
		if _, err := st.CreateRelationship(ctx, models.Relationship{ID: id(), CustomerID: cust.ID, ProviderID: prov.ID, ResellerID: res.ID,
			Source: models.SourceExtension, SourceID: x.ID, ConsentID: &consentID, Status: models.RelationshipActive}); err != nil {
			t.Fatalf("with its consent the relationship is stored: %v", err)
		}
	})
}

// TestTimelinesContinueAndStayBounded: audit §18. A new run on a subject
// continues after the stored events, and a timeline answer is bounded.
func TestTimelinesContinueAndStayBounded(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(string(dialect), func(t *testing.T) {
			st := storetest.New(t, dialect)
			ctx := context.Background()
			if last, err := st.LastEventSeq(ctx, "p1"); err != nil || last != 0 {
				t.Fatalf("empty timeline: %d %v", last, err)
			}
			for seq := 1; seq <= store.MaxEvents+3; seq++ {
				if _, err := st.AppendEvent(ctx, models.OnboardingEvent{SubjectID: "p1", Seq: seq, Type: "x", At: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			if last, err := st.LastEventSeq(ctx, "p1"); err != nil || last != store.MaxEvents+3 {
				t.Fatalf("last seq: %d %v", last, err)
			}
			if events, err := st.Events(ctx, "p1"); err != nil || len(events) != store.MaxEvents {
				t.Fatalf("%d events, %v", len(events), err)
			}
		})
	}
}

// TestConsentRecordsCannotBeReplaced: audit §13. Neither SQLite's INSERT OR
// REPLACE / REPLACE nor an upsert on either database rewrites a consent
// record, and a relationship cannot name a consent record that does not exist.
func TestConsentRecordsCannotBeReplaced(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		prov, res := partner(t, st, models.PartnerTypeIndirectProvider), partner(t, st, models.PartnerTypeReseller)
		cust := customer(t, st, res.ID)
		now := time.Now().UTC()
		x := models.RelationshipExtension{ID: id(), ResellerID: res.ID, ProviderID: prov.ID, CustomerID: cust.ID,
			Status: models.ExtensionWaitingForConsent, ConsentMethod: models.ConsentCustomerConfirmation, WorkflowID: "w",
			ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
		if err := st.CreateExtension(ctx, &x); err != nil {
			t.Fatal(err)
		}
		rec := models.ConsentRecord{ID: id(), ExtensionID: x.ID, CustomerID: cust.ID, ProviderID: prov.ID, ResellerID: res.ID,
			Subject: cust.ContactEmail, Method: models.ConsentCustomerConfirmation, SignerEmail: cust.ContactEmail,
			ObtainedAt: now, IP: "203.0.113.1", TextShown: "the text", Evidence: "original"}
		if _, err := st.RecordConsent(ctx, rec); err != nil {
			t.Fatal(err)
		}
		cols := `(id, extension_id, customer_id, provider_id, reseller_id, subject, method, signer_email, obtained_at, text_shown, evidence, created_at)`
		vals := `VALUES (?, ?, ?, ?, ?, 'forged@x.example', 'partner_attestation', 'forged@x.example', ?, 'FORGED', 'FORGED', ?)`
		args := []any{rec.ID, x.ID, cust.ID, prov.ID, res.ID, now, now}
		attempts := []string{
			`INSERT INTO consent_records ` + cols + ` ` + vals + ` ON CONFLICT (id) DO UPDATE SET evidence = excluded.evidence, text_shown = excluded.text_shown`,
		}
		if st.Dialect() == migrations.SQLite {
			attempts = append(attempts,
				`INSERT OR REPLACE INTO consent_records `+cols+` `+vals,
				`REPLACE INTO consent_records `+cols+` `+vals)
		}
		for _, q := range attempts {
			_ = st.DB().Exec(q, args...).Error // refused or ignored; either way nothing changes
			got, err := st.ConsentForExtension(ctx, x.ID)
			if err != nil || got.Evidence != "original" || got.TextShown != "the text" || got.ID != rec.ID {
				t.Fatalf("%s replaced the record: %+v %v", q, got, err)
			}
		}
		// A second record for the same extension under a new id is not stored either.
		args[0] = id()
		_ = st.DB().Exec(`INSERT INTO consent_records `+cols+` `+vals, args...).Error
		var n int64
		if err := st.DB().Model(&models.ConsentRecord{}).Where("extension_id = ?", x.ID).Count(&n).Error; err != nil || n != 1 {
			t.Fatalf("%d records for one extension: %v", n, err)
		}

		missing := "no-such-consent"
		if _, err := st.CreateRelationship(ctx, models.Relationship{ID: id(), CustomerID: cust.ID, ProviderID: prov.ID, ResellerID: res.ID,
			Source: models.SourceExtension, SourceID: x.ID, ConsentID: &missing, Status: models.RelationshipActive}); err == nil {
			t.Fatal("a relationship naming a missing consent record was stored")
		}
	})
}

func TestPartnershipsOfListsEveryPartnershipOfAPartner(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		prov, stranger := partner(t, st, models.PartnerTypeIndirectProvider), partner(t, st, models.PartnerTypeIndirectProvider)
		var want []string
		for range 3 {
			res := partner(t, st, models.PartnerTypeReseller)
			now := time.Now().UTC()
			p := models.Partnership{ID: id(), ProviderID: prov.ID, ResellerID: res.ID, Status: models.PartnershipInvited,
				WorkflowID: "w", ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
			if err := st.CreatePartnership(ctx, &p); err != nil {
				t.Fatal(err)
			}
			want = append([]string{p.ID}, want...) // newest first
			if got, err := st.PartnershipsOf(ctx, res.ID); err != nil || len(got) != 1 || got[0].ID != p.ID {
				t.Fatalf("the reseller's partnerships: %+v %v", got, err)
			}
		}
		got, err := st.PartnershipsOf(ctx, prov.ID)
		if err != nil || len(got) != len(want) {
			t.Fatalf("the provider's partnerships: %d, %v; want %d", len(got), err, len(want))
		}
		for i := range got {
			if got[i].ID != want[i] {
				t.Fatalf("partnership %d is %s, want %s (newest first)", i, got[i].ID, want[i])
			}
		}
		if got, err := st.PartnershipsOf(ctx, stranger.ID); err != nil || len(got) != 0 {
			t.Fatalf("another provider sees %d partnerships (%v)", len(got), err)
		}
	})
}

func TestCustomerRelationshipsAreTheCustomersWithThePartner(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		prov, prov2 := partner(t, st, models.PartnerTypeIndirectProvider), partner(t, st, models.PartnerTypeIndirectProvider)
		res, stranger := partner(t, st, models.PartnerTypeReseller), partner(t, st, models.PartnerTypeReseller)
		cust, other := customer(t, st, res.ID), customer(t, st, res.ID)
		rel := func(c, p string) models.Relationship {
			r, err := st.CreateRelationship(ctx, models.Relationship{ID: id(), CustomerID: c, ProviderID: p, ResellerID: res.ID,
				Source: models.SourceInvitation, SourceID: "inv", Status: models.RelationshipActive})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		first, second := rel(cust.ID, prov.ID), rel(cust.ID, prov2.ID)
		rel(other.ID, prov.ID)
		if _, ended, err := st.EndRelationship(ctx, first.ID, res.ID, "moved", time.Now()); err != nil || !ended {
			t.Fatalf("end: %v %v", ended, err)
		}
		all, err := st.CustomerRelationships(ctx, res.ID, cust.ID)
		if err != nil || len(all) != 2 || all[0].ID != second.ID || all[1].ID != first.ID {
			t.Fatalf("the reseller's relationships with the customer: %+v %v; want %s, %s", all, err, second.ID, first.ID)
		}
		active, err := st.CustomerRelationships(ctx, res.ID, cust.ID, models.RelationshipActive)
		if err != nil || len(active) != 1 || active[0].ID != second.ID {
			t.Fatalf("active only: %+v %v", active, err)
		}
		if got, err := st.CustomerRelationships(ctx, prov.ID, cust.ID); err != nil || len(got) != 1 || got[0].ID != first.ID {
			t.Fatalf("the provider sees its own relationship with the customer only: %+v %v", got, err)
		}
		if got, err := st.CustomerRelationships(ctx, stranger.ID, cust.ID); err != nil || len(got) != 0 {
			t.Fatalf("another reseller sees %d relationships (%v)", len(got), err)
		}
	})
}
