package workflows

import (
	"cmp"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/csp-onboarding/onboarding/activities"
)

// Partner Center polling while a customer's relationship is not there yet:
// minutes, doubling to hours; a webhook wakes the wait at once.
const (
	partnerCenterFirstPoll = 2 * time.Minute
	partnerCenterMaxPoll   = 4 * time.Hour
)

// partnerCenterWait is a wait for Partner Center to list the reseller on a
// customer, as the provider sees it: after the customer's acceptance at
// Microsoft (an invitation) or the reseller's transfer in Partner Center
// (an extension).
type partnerCenterWait struct {
	check       activities.ResellerRelationshipCheck
	firstPoll   time.Duration   // 0: partnerCenterFirstPoll
	reminders   []time.Duration // after the wait's start
	expireAfter time.Duration   // 0: never
	// signals, when set, carries Partner Center webhooks for a customer
	// tenant (SignalResellerRelationshipAccepted): each wakes the wait to
	// read Partner Center at once.
	signals workflow.ReceiveChannel
	// stop, when set, ends the wait early (the reseller withdrew).
	stop   workflow.ReceiveChannel
	remind func(ctx workflow.Context, n int) error
	logger log.Logger
}

// How a wait for Partner Center ended.
const (
	partnerCenterListed  = "listed"
	partnerCenterExpired = "expired"
	partnerCenterStopped = "stopped"
)

// awaitPartnerCenter reads Partner Center now, then on a backoff (reset by a
// webhook for the customer), sending the reminders on their schedule, until
// it lists the reseller (partnerCenterListed), the wait expires or it is
// stopped. Each timer is cancelled when a message wins.
func awaitPartnerCenter(ctx workflow.Context, w partnerCenterWait) (string, error) {
	var g *activities.GDAP
	actx := gdapActivityOptions(ctx, 0)
	firstPoll := cmp.Or(w.firstPoll, partnerCenterFirstPoll)
	start, poll, reminded := workflow.Now(ctx), firstPoll, 0
	for {
		var listed bool
		if err := workflow.ExecuteActivity(actx, g.ResellerRelationshipAccepted, w.check).Get(ctx, &listed); err != nil {
			return "", err
		}
		if listed {
			return partnerCenterListed, nil
		}
		next, why := workflow.Now(ctx).Add(poll), "poll"
		if reminded < len(w.reminders) && start.Add(w.reminders[reminded]).Before(next) {
			next, why = start.Add(w.reminders[reminded]), "remind"
		}
		if w.expireAfter > 0 && !start.Add(w.expireAfter).After(next) {
			next, why = start.Add(w.expireAfter), "expire"
		}
		timerCtx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(timerCtx, max(next.Sub(workflow.Now(ctx)), time.Second)), func(workflow.Future) {})
		if w.signals != nil {
			sel.AddReceive(w.signals, func(c workflow.ReceiveChannel, _ bool) {
				var tenant string
				c.Receive(ctx, &tenant)
				why = "woken"
				if !strings.EqualFold(tenant, w.check.CustomerTenantID) {
					w.logger.Warn("Partner Center signal for another customer tenant ignored", "tenant", tenant)
					why = "ignored"
				}
			})
		}
		if w.stop != nil {
			sel.AddReceive(w.stop, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); why = "stop" })
		}
		sel.Select(ctx)
		cancel()
		switch why {
		case "stop":
			return partnerCenterStopped, nil
		case "woken":
			poll = firstPoll // read Partner Center now; it confirms
		case "expire":
			return partnerCenterExpired, nil
		case "remind":
			reminded++
			if err := w.remind(ctx, reminded); err != nil {
				return "", err
			}
		case "poll":
			poll = min(2*poll, partnerCenterMaxPoll)
		}
	}
}
