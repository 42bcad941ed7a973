package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/microsoft/graph"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// grantFixture is a reseller relationship made by an invitation in German,
// ready for its delegated admin grant.
func grantFixture(t *testing.T, st *store.Store) activities.DelegatedAdminInput {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	var parties []string
	for _, typ := range []string{models.PartnerTypeReseller, models.PartnerTypeIndirectProvider} {
		p := models.Partner{ID: uuid.NewString(), Name: typ, Type: typ, ContactEmail: typ + "@example.com", EnrollmentStatus: "not_enrolled", CreatedAt: now, UpdatedAt: now}
		require.NoError(t, st.CreatePartner(ctx, &p))
		parties = append(parties, p.ID)
	}
	c := models.Customer{ID: uuid.NewString(), CompanyName: "Northwind", ContactEmail: "contact@northwind.example", TenantID: "c0ffee00-0000-4000-8000-000000000001",
		AcquiredVia: models.AcquiredViaInvitation, CreatedBy: parties[0], CreatedAt: now, UpdatedAt: now}
	require.NoError(t, st.UpsertCustomer(ctx, &c))
	inv := models.Invitation{ID: uuid.NewString(), ResellerID: parties[0], ProviderID: parties[1], CustomerID: &c.ID, CustomerEmail: "admin@northwind.example",
		Locale: "de", Status: models.InvitationCompleted, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, st.CreateInvitation(ctx, &inv))
	rel, err := st.CreateRelationship(ctx, models.Relationship{ID: uuid.NewString(), CustomerID: c.ID, ProviderID: parties[1], ResellerID: parties[0],
		Source: models.SourceInvitation, SourceID: inv.ID, DelegatedAdmin: true, Status: models.RelationshipActive})
	require.NoError(t, err)
	return activities.DelegatedAdminInput{ID: uuid.NewString(), RelationshipID: rel.ID, CustomerID: c.ID, PartnerID: parties[0],
		Request: models.DelegatedAdminRequest{Roles: []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8"}, DurationDays: 90}, ActivatedAt: now}
}

// Off mode the grant is active at once, as before GDAP; live or simulated
// it waits for Microsoft and says whom to send the approval link. A retry
// answers from the row, whatever the worker's mode is by then.
func TestRecordDelegatedAdminByMode(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[len(storetest.Dialects)-1])
	ctx := context.Background()
	for _, mode := range []string{config.MicrosoftOff, config.MicrosoftSimulated} {
		t.Run(mode, func(t *testing.T) {
			acts := activities.New(st, nil, "")
			acts.GDAP = &activities.GDAP{Store: st, Microsoft: config.Microsoft{Mode: mode}}
			in := grantFixture(t, st)
			v, err := activityEnv(acts).ExecuteActivity(acts.RecordDelegatedAdmin, in)
			require.NoError(t, err)
			var rec activities.DelegatedAdminRecord
			require.NoError(t, v.Get(&rec))
			d, err := st.DelegatedAdmin(ctx, in.ID)
			require.NoError(t, err)
			if mode == config.MicrosoftOff {
				require.Equal(t, activities.DelegatedAdminRecord{Status: models.DelegatedAdminActive}, rec)
				require.Equal(t, models.DelegatedAdminActive, d.Status)
				return
			}
			require.True(t, rec.ViaMicrosoft)
			require.Equal(t, models.DelegatedAdminApprovalPending, d.Status)
			require.Equal(t, "admin@northwind.example", rec.CustomerEmail, "the invitation's addressee")
			require.Equal(t, "de", rec.Locale)
			require.Equal(t, "c0ffee00-0000-4000-8000-000000000001", rec.CustomerTenantID)

			acts.GDAP.Microsoft.Mode = config.MicrosoftOff
			v, err = activityEnv(acts).ExecuteActivity(acts.RecordDelegatedAdmin, in)
			require.NoError(t, err)
			require.NoError(t, v.Get(&rec))
			require.True(t, rec.ViaMicrosoft, "the retry follows the recorded row")
		})
	}
}

// Microsoft's approval link goes in the link's place, as given: no token.
func TestSendEmailPutsMicrosoftsApprovalLink(t *testing.T) {
	acts, smtpServer := smtpActivities(t, storetest.New(t, storetest.Dialects[len(storetest.Dialects)-1]))
	link := graph.ApprovalLink("f5f28a0c-e88b-4bf3-b34f-02c14ced0ad9-a2c285d8-dd5d-4f8b-8f08-7b79b5f3cb5e")
	_, err := activityEnv(acts).ExecuteActivity(acts.SendEmail, activities.Email{Key: "delegated-admin:da-1:approval:0", To: "admin@northwind.example",
		Template: emails.DelegatedAdminApproval, Locale: "fr", Data: &emails.Data{Recipient: "Northwind", Reseller: "Fabrikam", Roles: []string{"Helpdesk Administrator"},
			DurationDays: 90, ExpiresAt: time.Now().Add(90 * 24 * time.Hour)},
		Link: &activities.Link{SubjectID: "da-1", URL: link}})
	require.NoError(t, err)
	got, err := smtpServer.WaitFor("admin@northwind.example", "Microsoft", 5*time.Second)
	require.NoError(t, err)
	require.Contains(t, got.Body, link)
	require.NotContains(t, got.Body, "onboarding.test", "no personal link")
}
