package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/models"
)

// PartnerCenterURL is the Customers workspace of the Partner Center
// dashboard, where the reseller opens the customer (the page
// https://learn.microsoft.com/en-us/partner-center/transition-direct-to-indirect
// describes the extension from there). Microsoft documents the dashboard's
// workspaces, not their addresses; this one is the Customers list's.
const PartnerCenterURL = "https://partner.microsoft.com/dashboard/commerce2/customers/list"

// ExtensionAtMicrosoft is the extension made in Partner Center (MICROSOFT_MODE
// live or simulated, issue 14 item 2). Microsoft offers no API for it: after
// the consent and the bill-to share the reseller gets the steps ("reseller
// relationship extension" of an existing direct-bill customer to its
// indirect provider, in the Partner Center dashboard), and the extension
// waits until Partner Center lists the reseller with the provider on the
// customer.
type ExtensionAtMicrosoft struct {
	ResellerTenantID string
	ProviderTenantID string
	// CustomerTenantID is the customer's tenant when known; else it is found
	// from CustomerDomain.
	CustomerTenantID string
	CustomerDomain   string
	FirstPoll        time.Duration `json:",omitempty"` // 0: two minutes
}

// extendAtPartnerCenter gives the reseller its task and waits for Partner
// Center (awaitPartnerCenter: a webhook for the customer tenant wakes it, the
// poll finds it otherwise), reminding the reseller on the consent's reminder
// schedule; it expires after the consent's own period. ended is true when
// the extension ended here (expired).
func (w *extension) extendAtPartnerCenter(ctx workflow.Context) (ended bool, err error) {
	m := w.in.Microsoft
	if m.CustomerTenantID, err = customerTenant(ctx, m.CustomerTenantID, w.answer.SignedIn, m.CustomerDomain); err != nil {
		return true, w.failedNow(ctx, err)
	}
	if w.in.ExpireAfter > 0 {
		w.st.PartnerCenterExpiresAt = workflow.Now(ctx).Add(w.in.ExpireAfter).UTC()
	}
	w.t.setStep(ctx, "Waiting for the reseller's extension in Partner Center")
	if err := w.t.record(ctx, activities.Progress{Status: models.ExtensionWaitingForPartnerCenter, Event: models.EventPartnerCenterTask,
		Details: map[string]string{"customer_tenant_id": m.CustomerTenantID, "partner_center_url": PartnerCenterURL}}); err != nil {
		return true, err
	}
	if err := w.t.upsertStatusAgain(ctx); err != nil {
		return true, err
	}
	if err := w.sendPartnerCenterTask(ctx, 0); err != nil {
		return true, err
	}
	outcome, err := awaitPartnerCenter(ctx, partnerCenterWait{
		check:     activities.ResellerRelationshipCheck{ProviderID: w.in.Provider.ID, CustomerTenantID: m.CustomerTenantID, ResellerTenantID: m.ResellerTenantID},
		firstPoll: m.FirstPoll, reminders: w.in.Reminders, expireAfter: w.in.ExpireAfter,
		signals: workflow.GetSignalChannel(ctx, SignalResellerRelationshipAccepted),
		remind:  w.sendPartnerCenterTask, logger: w.logger,
	})
	switch {
	case isCancellation(err):
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		if rerr := w.t.record(dctx, activities.Progress{Status: models.ExtensionCancelled, Event: "cancelled_by_operator"}); rerr != nil {
			w.logger.Error("Could not record the cancellation", "error", rerr)
		}
		return true, err
	case err != nil:
		return true, w.failedNow(ctx, err)
	case outcome != partnerCenterListed:
		w.t.setStep(ctx, "Expired: not extended in Partner Center")
		if err := w.t.record(ctx, activities.Progress{Status: models.ExtensionExpired, Event: models.EventPartnerCenterTaskExpired}); err != nil {
			return true, err
		}
		return true, w.finish(ctx)
	}
	return false, w.t.record(ctx, activities.Progress{Status: models.ExtensionWaitingForPartnerCenter, Event: models.EventExtendedAtMicrosoft,
		Details: map[string]string{"customer_tenant_id": m.CustomerTenantID}})
}

// sendPartnerCenterTask e-mails the reseller the steps (n = 0) or a reminder (n > 0).
func (w *extension) sendPartnerCenterTask(ctx workflow.Context, n int) error {
	d := emails.Data{Reminder: n > 0, Reseller: w.in.Reseller.Name, Provider: w.in.Provider.Name, Customer: w.in.CustomerName,
		CustomerID: w.in.CustomerID, ID: w.in.Microsoft.CustomerTenantID, ExpiresAt: w.st.PartnerCenterExpiresAt}
	e := partnerNotice(fmt.Sprintf("%s:partner-center-task:%d", ExtensionWorkflowID(w.in.ExtensionID), n), w.in.Reseller, emails.PartnerCenterTask, d)
	e.Link = &activities.Link{SubjectID: w.in.ExtensionID, URL: PartnerCenterURL}
	if n == 0 {
		return w.mail.sendNow(ctx, e)
	}
	sent := w.t.reserve(ctx, models.EventPartnerCenterTaskReminderSent, map[string]string{"reminder": fmt.Sprint(n), "to": w.in.Reseller.Email})
	return w.mail.sendNow(ctx, withSentEvent(e, sent))
}

// failedNow records a failure and ends the extension; its error is the
// workflow's.
func (w *extension) failedNow(ctx workflow.Context, cause error) error {
	_, err := w.fail(ctx, cause)
	return err
}
