package signin_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/microsoft/signin"
	"github.com/csp-onboarding/onboarding/microsoft/simulator"
)

const customerTenant = "5d2c1b0a-9e8f-4d7c-8b6a-5f4e3d2c1b0a"

func newSignin(t *testing.T) (*simulator.Simulator, *signin.Client) {
	sim := simulator.New()
	sim.RegisterApp("organizations", "signin-app", "signin-secret")
	sim.AddCustomerTenant("contoso.example", customerTenant)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, signin.New(signin.Config{LoginURL: srv.URL, ClientID: "signin-app", ClientSecret: "signin-secret",
		RedirectURL: "https://onboarding.example/signin/callback", HTTPClient: srv.Client()})
}

// callback signs the account in at the simulator and returns the state and
// code the browser would bring back.
func callback(t *testing.T, sim *simulator.Simulator, authURL, upn string) (state, code string) {
	back, err := sim.SignIn(authURL, upn, "Ada Admin")
	require.NoError(t, err)
	u, err := url.Parse(back)
	require.NoError(t, err)
	require.Equal(t, "onboarding.example", u.Host)
	return u.Query().Get("state"), u.Query().Get("code")
}

func TestSignInSaysWhoSignedIn(t *testing.T) {
	ctx := context.Background()
	sim, c := newSignin(t)
	st := signin.NewStart()
	auth, err := c.AuthURL(ctx, st, "ada@contoso.example")
	require.NoError(t, err)
	q, _ := url.Parse(auth)
	require.Equal(t, "S256", q.Query().Get("code_challenge_method"))
	require.Equal(t, st.Nonce, q.Query().Get("nonce"))
	require.NotContains(t, auth, st.Verifier, "only the challenge leaves")

	state, code := callback(t, sim, auth, "ada@contoso.example")
	id, err := c.Finish(ctx, st, state, code)
	require.NoError(t, err)
	require.Equal(t, signin.Identity{TenantID: customerTenant, ObjectID: id.ObjectID, Name: "Ada Admin", UPN: "ada@contoso.example"}, id)
	require.NotEmpty(t, id.ObjectID)

	_, err = c.Finish(ctx, st, state, code)
	require.ErrorIs(t, err, signin.ErrRefused, "a code is redeemed once")
}

func TestSignInRefusals(t *testing.T) {
	ctx := context.Background()
	sim, c := newSignin(t)

	st := signin.NewStart()
	auth, err := c.AuthURL(ctx, st, "")
	require.NoError(t, err)
	_, code := callback(t, sim, auth, "ada@contoso.example")
	_, err = c.Finish(ctx, st, "another-browser's-state", code)
	require.ErrorIs(t, err, signin.ErrState)

	// Another sign-in's verifier and nonce: the code does not redeem.
	other := signin.NewStart()
	other.State = st.State
	_, err = c.Finish(ctx, other, st.State, code)
	require.ErrorIs(t, err, signin.ErrRefused)

	// The code redeems with the right verifier, but the nonce is not this sign-in's.
	st2 := signin.NewStart()
	auth, err = c.AuthURL(ctx, st2, "")
	require.NoError(t, err)
	state, code := callback(t, sim, auth, "ada@contoso.example")
	wrongNonce := st2
	wrongNonce.Nonce = "replayed"
	_, err = c.Finish(ctx, wrongNonce, state, code)
	require.ErrorContains(t, err, "nonce")

	_, err = sim.SignIn(auth, "nobody@unknown-domain.example", "")
	require.Error(t, err, "an account of no tenant cannot sign in")
}
