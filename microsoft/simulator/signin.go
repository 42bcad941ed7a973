package simulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// The identity platform's sign-in for a multi-tenant app, as Microsoft
// documents the authorization code flow with PKCE and its ID token:
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
// https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
// The person signs in on a stand-in page by naming a work account
// (user@domain): the account's tenant is the domain's (tenantOf).

// signinState holds the signing key and the codes issued.
type signinState struct {
	key   *rsa.PrivateKey
	kid   string
	codes map[string]*authCode
}

type authCode struct {
	clientID, redirectURI, challenge, nonce string
	upn, name, tenant, oid                  string
	expires                                 time.Time
}

func (s *Simulator) signingKey() (*rsa.PrivateKey, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signin.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err) // the system's randomness failed
		}
		s.signin.key, s.signin.kid = k, uuid.NewString()
	}
	return s.signin.key, s.signin.kid
}

// jwks serves the signing key ("jwks_uri").
func (s *Simulator) jwks(w http.ResponseWriter, _ *http.Request) {
	k, kid := s.signingKey()
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}})
}

var signinPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in to your account (simulated)</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em">
<p><strong>Simulated Microsoft sign-in</strong> — MICROSOFT_MODE=simulated</p>
<h1>Sign in</h1>
<form method="post">
{{range $k, $v := .Query}}{{if ne $k "login_hint"}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}{{end}}
<p><label>Work account <input name="login_hint" type="email" required autocomplete="off" value="{{.Hint}}"></label></p>
<p><label>Name <input name="display_name" autocomplete="off"></label></p>
<button type="submit">Sign in</button>
</form>
</body></html>`))

// authorize is the authorization endpoint: GET shows the sign-in page, POST
// signs the named account in and sends the browser back with a code.
func (s *Simulator) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	q := r.Form
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("response_type") != "code" || q.Get("client_id") == "" || err != nil || !redirect.IsAbs() ||
		q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("nonce") == "" {
		http.Error(w, "AADSTS900144: the request needs response_type=code, client_id, an absolute redirect_uri, state, nonce and an S256 code_challenge", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = signinPage.Execute(w, map[string]any{"Query": r.URL.Query(), "Hint": q.Get("login_hint")})
		return
	}
	upn := strings.ToLower(strings.TrimSpace(r.PostForm.Get("login_hint")))
	_, domain, _ := strings.Cut(upn, "@")
	tenant, ok := s.tenantOf(domain)
	if !ok {
		http.Error(w, "AADSTS50034: The user account does not exist in the directory.", http.StatusBadRequest)
		return
	}
	code := randomToken()
	name := strings.TrimSpace(r.PostForm.Get("display_name"))
	if name == "" {
		name = upn
	}
	s.mu.Lock()
	s.signin.codes[code] = &authCode{clientID: q.Get("client_id"), redirectURI: redirect.String(), challenge: q.Get("code_challenge"), nonce: q.Get("nonce"),
		upn: upn, name: name, tenant: tenant, oid: uuid.NewSHA1(uuid.NameSpaceURL, []byte(tenant+"/"+upn)).String(), expires: s.Now().Add(10 * time.Minute)}
	s.mu.Unlock()
	back := redirect.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// SignIn is a person signing in at the authorization endpoint without a
// browser: it returns the redirect (with code and state) the browser would follow.
func (s *Simulator) SignIn(authorizeURL, upn, name string) (string, error) {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return "", err
	}
	form := u.Query()
	form.Set("login_hint", upn)
	form.Set("display_name", name)
	req := httptest.NewRequest(http.MethodPost, authorizeURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	s.authorize(rec, req)
	if rec.Code != http.StatusFound {
		return "", fmt.Errorf("sign in as %s: %d %s", upn, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	return rec.Header().Get("Location"), nil
}

// redeemCode is the token endpoint's authorization_code grant: the client
// authenticates, the code is its own, unused and fresh, the redirect_uri
// matches and the PKCE verifier hashes to the challenge. The answer holds a
// signed ID token with the claims a work account's token has.
func (s *Simulator) redeemCode(w http.ResponseWriter, r *http.Request) {
	clientID := r.PostForm.Get("client_id")
	s.mu.Lock()
	a, known := s.apps[clientID]
	if !known && s.AcceptNewApps && clientID != "" && r.PostForm.Get("client_secret") != "" {
		a, known = app{tenant: r.PathValue("tenant"), secret: r.PostForm.Get("client_secret")}, true
		s.apps[clientID] = a
	}
	c := s.signin.codes[r.PostForm.Get("code")]
	delete(s.signin.codes, r.PostForm.Get("code"))
	s.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !known || a.secret == "" || a.secret != r.PostForm.Get("client_secret"):
		(&tokenError{http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided."}).write(w)
		return
	case c == nil || c.clientID != clientID || s.Now().After(c.expires) || c.redirectURI != r.PostForm.Get("redirect_uri"):
		(&tokenError{http.StatusBadRequest, "invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired or was already redeemed."}).write(w)
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
		(&tokenError{http.StatusBadRequest, "invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request."}).write(w)
		return
	}
	idToken, err := s.idToken(c, clientID)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "scope": "openid profile email",
		"access_token": randomToken(), "id_token": idToken})
}

func (s *Simulator) idToken(c *authCode, clientID string) (string, error) {
	k, kid := s.signingKey()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", err
	}
	now := s.Now()
	claims := map[string]any{
		"iss": "https://login.microsoftonline.com/" + c.tenant + "/v2.0", "aud": clientID, "sub": uuid.NewSHA1(uuid.NameSpaceOID, []byte(clientID+c.oid)).String(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": c.nonce,
		"tid": c.tenant, "oid": c.oid, "name": c.name, "preferred_username": c.upn, "ver": "2.0",
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}
