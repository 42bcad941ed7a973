package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
)

// hookReceiver is a partner's webhook receiver: it verifies each message
// with the Standard Webhooks library and keeps the verified ones.
type hookReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	secret   string
	types    []string
	objects  []string
	rejected int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(r.secret)
		if err != nil || wh.Verify(body, req.Header) != nil {
			r.rejected++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var msg struct {
			Type string `json:"type"`
			Data struct {
				ObjectID string `json:"object_id"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &msg)
		r.types = append(r.types, msg.Type)
		r.objects = append(r.objects, msg.Data.ObjectID)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) got() (types, objects []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.types...), append([]string(nil), r.objects...)
}

// TestWebhooksEndToEnd: a reseller subscribes over the API; an invitation's
// lifecycle reaches its endpoint as signed, ordered events; another reseller
// hears nothing of it and cannot see the endpoint; ping, the delivery log,
// replay, rotation and deletion work over the API.
func TestWebhooksEndToEnd(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) {
		c.SecretKey = secret.NewKey()
		c.Webhooks.AllowPrivateTargets = true // the receivers listen on 127.0.0.1
	})
	provider := p.createPartner("Contoso Distribution", "indirect_provider", false)
	reseller := p.createPartner("Fabrikam Reseller", "reseller", true)
	other := p.createPartner("Tailspin Reseller", "reseller", true)
	p.activePartnership(provider, reseller)

	// Bad subscriptions are 422s.
	p.must(422, p.call("POST", "/v1/webhook-endpoints", reseller.key, map[string]any{"url": "ftp://example.com/x", "events": []string{"*"}}))
	p.must(422, p.call("POST", "/v1/webhook-endpoints", reseller.key, map[string]any{"url": "https://example.com/x", "events": []string{"invitation.nope"}}))
	p.must(422, p.call("POST", "/v1/webhook-endpoints", reseller.key, map[string]any{"url": "https://user:pw@example.com/x", "events": []string{"*"}}))

	mine, theirs := newHookReceiver(t), newHookReceiver(t)
	created := p.must(201, p.call("POST", "/v1/webhook-endpoints", reseller.key, map[string]any{
		"url": mine.srv.URL + "/hooks", "events": []string{"invitation.*", "relationship.created"}, "description": "PSA"}))
	epID := created.str("id")
	require.Regexp(t, `^whsec_`, created.str("secret"))
	require.Equal(t, "/v1/webhook-endpoints/"+epID, created.header.Get("Location"))
	mine.mu.Lock()
	mine.secret = created.str("secret")
	mine.mu.Unlock()
	shown := p.must(200, p.call("GET", "/v1/webhook-endpoints/"+epID, reseller.key, nil))
	require.Empty(t, shown.str("secret"), "the secret is shown once")
	p.must(404, p.call("GET", "/v1/webhook-endpoints/"+epID, other.key, nil))
	p.must(404, p.call("GET", "/v1/webhook-endpoints/"+epID+"/deliveries", other.key, nil))
	p.must(404, p.call("DELETE", "/v1/webhook-endpoints/"+epID, other.key, nil))
	otherEP := p.must(201, p.call("POST", "/v1/webhook-endpoints", other.key, map[string]any{"url": theirs.srv.URL, "events": []string{"*"}}))
	theirs.mu.Lock()
	theirs.secret = otherEP.str("secret")
	theirs.mu.Unlock()

	// The invitation's lifecycle.
	inv := p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id, "customer": map[string]any{"company_name": "Northwind Traders", "email": "hooks@northwind.example"}}))
	invID := inv.str("id")
	mail, err := p.smtp.WaitFor("hooks@northwind.example", "Fabrikam Reseller invites you", 20*time.Second)
	require.NoError(t, err)
	link := invitationLink.FindString(mail.Body)
	require.NotEmpty(t, link)
	require.Equal(t, 200, postForm(t, link+"/accept").status)

	p.eventually("invitation completed", func() bool {
		return p.call("GET", "/v1/invitations/"+invID, reseller.key, nil).str("status") == "completed"
	})
	// What the endpoint must receive: the invitation's timeline, through the
	// catalogue, in the timeline's order (e-mails go out beside the waits, so
	// "sent" may come after "accepted"; the timeline says which).
	var want []string
	for _, e := range eventTypes(p.call("GET", "/v1/invitations/"+invID, reseller.key, nil)) {
		want = append(want, models.WebhookEventTypes["invitation"][e]...)
	}
	require.Len(t, want, 5)
	p.eventually("the invitation's events at the endpoint", func() bool {
		types, _ := mine.got()
		return len(types) >= len(want)
	})
	types, objects := mine.got()
	require.Equal(t, want, types, "in timeline order")
	for _, o := range objects {
		require.Equal(t, invID, o)
	}

	// A ping, and the log.
	ping := p.must(202, p.call("POST", "/v1/webhook-endpoints/"+epID+"/test", reseller.key, nil))
	require.Equal(t, "ping", ping.str("type"))
	p.eventually("the ping", func() bool {
		types, _ := mine.got()
		return len(types) == len(want)+1 && types[len(want)] == "ping"
	})
	log := p.must(200, p.call("GET", "/v1/webhook-endpoints/"+epID+"/deliveries?status=succeeded", reseller.key, nil))
	items, _ := log.json["items"].([]any)
	require.Len(t, items, len(want)+1)
	first := items[len(items)-1].(map[string]any)
	require.Equal(t, want[0], first["type"])
	require.EqualValues(t, 1, first["attempts"])
	require.EqualValues(t, 204, first["last_status_code"])
	p.must(422, p.call("GET", "/v1/webhook-endpoints/"+epID+"/deliveries?status=lost", reseller.key, nil))

	// Redeliver one, replay a window.
	p.must(202, p.call("POST", "/v1/webhook-endpoints/"+epID+"/deliveries/"+first["id"].(string)+"/redeliver", reseller.key, nil))
	p.eventually("the redelivery", func() bool { types, _ := mine.got(); return len(types) == len(want)+2 })
	p.must(404, p.call("POST", "/v1/webhook-endpoints/"+epID+"/deliveries/msg_nope/redeliver", reseller.key, nil))
	replay := p.must(202, p.call("POST", "/v1/webhook-endpoints/"+epID+"/replay?since="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), reseller.key, nil))
	require.EqualValues(t, len(want)+1, replay.json["queued"])
	p.eventually("the replay", func() bool { types, _ := mine.got(); return len(types) == 2*len(want)+3 })
	p.must(422, p.call("POST", "/v1/webhook-endpoints/"+epID+"/replay?since=yesterday", reseller.key, nil))

	// Rotation: the new secret verifies what is sent next.
	rotated := p.must(200, p.call("POST", "/v1/webhook-endpoints/"+epID+"/rotate-secret", reseller.key, nil))
	require.NotEqual(t, created.str("secret"), rotated.str("secret"))
	require.NotEmpty(t, rotated.str("previous_secret_until"))
	mine.mu.Lock()
	mine.secret = rotated.str("secret")
	mine.mu.Unlock()
	p.must(202, p.call("POST", "/v1/webhook-endpoints/"+epID+"/test", reseller.key, nil))
	p.eventually("the ping after rotation", func() bool { types, _ := mine.got(); return len(types) == 2*len(want)+4 })

	// The other reseller heard nothing about this invitation.
	theirTypes, _ := theirs.got()
	require.Empty(t, theirTypes)
	require.Zero(t, mine.rejected+theirs.rejected, "every message verified")

	// Disable, delete.
	off := p.must(200, p.call("PATCH", "/v1/webhook-endpoints/"+epID, reseller.key, map[string]any{"enabled": false}))
	require.Equal(t, false, off.json["enabled"])
	p.must(204, p.call("DELETE", "/v1/webhook-endpoints/"+epID, reseller.key, nil))
	p.must(404, p.call("GET", "/v1/webhook-endpoints/"+epID, reseller.key, nil))
	list := p.must(200, p.call("GET", "/v1/webhook-endpoints", other.key, nil))
	listed, _ := list.json["items"].([]any)
	require.Len(t, listed, 1)
}
