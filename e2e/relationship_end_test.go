package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/config"
)

// TestEndedRelationshipReachesBothParties: a relationship made by an
// accepted invitation is ended by its reseller; the provider's endpoint,
// subscribed to relationship.ended, receives it (signed, about the
// relationship); a stranger can neither read nor end it; ending it again
// answers the same.
func TestEndedRelationshipReachesBothParties(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) { c.Webhooks.AllowPrivateTargets = true })
	provider := p.createPartner("Contoso Distribution", "indirect_provider", false)
	reseller := p.createPartner("Fabrikam Reseller", "reseller", true)
	other := p.createPartner("Tailspin Reseller", "reseller", true)
	p.activePartnership(provider, reseller)

	hooks := newHookReceiver(t)
	ep := p.must(201, p.call("POST", "/v1/webhook-endpoints", provider.key, map[string]any{"url": hooks.srv.URL, "events": []string{"relationship.ended"}}))
	hooks.mu.Lock()
	hooks.secret = ep.str("secret")
	hooks.mu.Unlock()

	invID := p.invite(reseller, provider, "end@northwind.example")
	mail, err := p.smtp.WaitFor("end@northwind.example", "invites you", 20*time.Second)
	require.NoError(t, err)
	link := invitationLink.FindString(mail.Body)
	require.NotEmpty(t, link)
	require.Equal(t, 200, postForm(t, link+"/accept").status)
	var relID string
	p.eventually("the relationship", func() bool {
		relID = p.call("GET", "/v1/invitations/"+invID, reseller.key, nil).str("relationship_id")
		return relID != ""
	})

	p.must(404, p.call("GET", "/v1/relationships/"+relID, other.key, nil))
	p.must(404, p.call("POST", "/v1/relationships/"+relID+"/end", other.key, map[string]any{}))
	p.must(422, p.call("POST", "/v1/relationships/"+relID+"/end", reseller.key, map[string]any{"reason": "<b>bye</b>\x00"}))

	ended := p.must(200, p.call("POST", "/v1/relationships/"+relID+"/end", reseller.key, map[string]any{"reason": "The customer moved to another partner"}))
	require.Equal(t, "terminated", ended.str("status"))
	require.Equal(t, reseller.id, ended.str("ended_by"))
	again := p.must(200, p.call("POST", "/v1/relationships/"+relID+"/end", provider.key, nil))
	require.Equal(t, ended.str("ended_at"), again.str("ended_at"))
	require.Equal(t, []string{"relationship_ended"}, eventTypes(p.call("GET", "/v1/relationships/"+relID, provider.key, nil)))

	p.eventually("relationship.ended at the provider's endpoint", func() bool { types, _ := hooks.got(); return len(types) == 1 })
	types, objects := hooks.got()
	require.Equal(t, []string{"relationship.ended"}, types)
	require.Equal(t, []string{relID}, objects)
	time.Sleep(300 * time.Millisecond) // the second end queues nothing
	types, _ = hooks.got()
	require.Len(t, types, 1)
	require.Zero(t, hooks.rejected)
}
