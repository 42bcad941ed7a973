package simulator

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
)

// PartnerCenterPrefix is where the simulated Partner Center API lives:
// PARTNER_CENTER_API_URL is the simulator's base URL + PartnerCenterPrefix.
const PartnerCenterPrefix = "/partnercenter"

// partnerCenterScope is the scope a Partner Center token is asked for.
const partnerCenterScope = "https://api.partnercenter.microsoft.com/.default"

const pcRegistration = PartnerCenterPrefix + "/webhooks/v1/registration"

// pcState is the Partner Center side: each partner tenant's webhook
// registration and its validation events.
type pcState struct {
	registrations map[string]*partnercenter.Registration    // partner tenant → registration
	validations   map[string]*partnercenter.ValidationEvent // correlation id → state
	deliveries    []Delivery
}

// Delivery is one event the simulator posted to a registered webhook.
type Delivery struct {
	URL    string
	Event  partnercenter.Event
	Status int
	Err    string
}

func (s *Simulator) partnerCenterRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+pcRegistration, s.pcAuthed(s.getRegistration))
	mux.Handle("POST "+pcRegistration, s.pcAuthed(s.putRegistration))
	mux.Handle("PUT "+pcRegistration, s.pcAuthed(s.putRegistration))
	mux.Handle("POST "+pcRegistration+"/validationEvents", s.pcAuthed(s.postValidationEvent))
	mux.Handle("GET "+pcRegistration+"/validationEvents/{id}", s.pcAuthed(s.getValidationEvent))
	mux.Handle("GET "+PartnerCenterPrefix+"/v1/customers/{id}/relationships", s.pcAuthed(s.customerPartners))
}

// pcAuthed admits only tokens issued for the Partner Center API.
func (s *Simulator) pcAuthed(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		partner, known := s.tokens[t]
		scope := s.scopes[t]
		s.mu.Unlock()
		if !ok || !known || scope != partnerCenterScope {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"code": "Unauthorized", "description": "the token is not for https://api.partnercenter.microsoft.com"})
			return
		}
		h(w, r, partner)
	})
}

// Registration is a partner tenant's webhook registration (nil without one).
func (s *Simulator) Registration(partnerTenant string) *partnercenter.Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.pc.registrations[partnerTenant]; r != nil {
		c := *r
		return &c
	}
	return nil
}

// Deliveries are the webhook deliveries made so far.
func (s *Simulator) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.pc.deliveries...)
}

// "View a registration": 404 without one.
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks#view-a-registration
func (s *Simulator) getRegistration(w http.ResponseWriter, _ *http.Request, partner string) {
	s.mu.Lock()
	reg := s.pc.registrations[partner]
	s.mu.Unlock()
	if reg == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"code": "NotFound", "description": "no webhook registration"})
		return
	}
	writeJSON(w, http.StatusOK, partnercenter.Registration{WebhookURL: reg.WebhookURL, WebhookEvents: reg.WebhookEvents})
}

// "Register to receive events" (POST) and "Update an event registration" (PUT).
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks#register-to-receive-events
func (s *Simulator) putRegistration(w http.ResponseWriter, r *http.Request, partner string) {
	var in partnercenter.Registration
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || !strings.HasPrefix(in.WebhookURL, "http") || len(in.WebhookEvents) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "BadRequest", "description": "WebhookUrl and WebhookEvents are required"})
		return
	}
	s.mu.Lock()
	reg := s.pc.registrations[partner]
	if r.Method == http.MethodPost && reg != nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusConflict, map[string]string{"code": "Conflict", "description": "a registration exists; update it with PUT"})
		return
	}
	if reg == nil {
		reg = &partnercenter.Registration{SubscriberID: newID()}
		s.pc.registrations[partner] = reg
	}
	reg.WebhookURL, reg.WebhookEvents = in.WebhookURL, append([]string(nil), in.WebhookEvents...)
	out := *reg
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// "Send a test event to validate your registration": test-created must be
// registered; the event is posted (signed) to the registered URL.
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks#send-a-test-event-to-validate-your-registration
func (s *Simulator) postValidationEvent(w http.ResponseWriter, r *http.Request, partner string) {
	s.mu.Lock()
	reg := s.pc.registrations[partner]
	signer := s.Signer
	s.mu.Unlock()
	if reg == nil || !containsString(reg.WebhookEvents, partnercenter.EventTest) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "BadRequest", "description": "register for test-created before sending a validation event"})
		return
	}
	id := newID()
	v := &partnercenter.ValidationEvent{CorrelationID: id, PartnerID: partner, Status: "queued", CallbackURL: reg.WebhookURL}
	s.mu.Lock()
	s.pc.validations[id] = v
	s.mu.Unlock()
	ev := partnercenter.Event{EventName: partnercenter.EventTest, ResourceName: "test",
		ResourceURI:           "https://api.partnercenter.microsoft.com/webhooks/v1/registration/validationEvents/" + id,
		ResourceChangeUtcDate: s.Now().UTC().Format("2006-01-02T15:04:05.0000000+00:00")}
	// Delivered after the answer, as Partner Center does.
	go func() {
		d := s.deliver(context.Background(), signer, reg.WebhookURL, ev)
		s.mu.Lock()
		defer s.mu.Unlock()
		code := http.StatusText(d.Status)
		if d.Err != "" {
			code = "Error"
		}
		v.Status = "completed"
		v.Results = append(v.Results, struct {
			ResponseCode    string `json:"responseCode"`
			ResponseMessage string `json:"responseMessage"`
			SystemError     bool   `json:"systemError"`
			DateTimeUtc     string `json:"dateTimeUtc"`
		}{ResponseCode: strings.ReplaceAll(code, " ", ""), ResponseMessage: d.Err, DateTimeUtc: stamp(s.Now())})
	}()
	writeJSON(w, http.StatusOK, map[string]string{"correlationId": id})
}

// "Verify that the event was delivered".
func (s *Simulator) getValidationEvent(w http.ResponseWriter, r *http.Request, partner string) {
	s.mu.Lock()
	v, ok := s.pc.validations[r.PathValue("id")]
	var out partnercenter.ValidationEvent
	if ok {
		out = *v
	}
	s.mu.Unlock()
	if !ok || out.PartnerID != partner {
		writeJSON(w, http.StatusNotFound, map[string]string{"code": "NotFound", "description": "no such validation event"})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// Deliver posts an event, signed, to a partner tenant's registered webhook
// (when it registered for the event), as Partner Center does on a change.
func (s *Simulator) Deliver(ctx context.Context, partnerTenant string, ev partnercenter.Event) (Delivery, error) {
	s.mu.Lock()
	reg := s.pc.registrations[partnerTenant]
	signer := s.Signer
	s.mu.Unlock()
	if reg == nil || !containsString(reg.WebhookEvents, ev.EventName) {
		return Delivery{}, fmt.Errorf("partner tenant %s is not registered for %s", partnerTenant, ev.EventName)
	}
	if ev.ResourceChangeUtcDate == "" {
		ev.ResourceChangeUtcDate = s.Now().UTC().Format("2006-01-02T15:04:05.0000000+00:00")
	}
	d := s.deliver(ctx, signer, reg.WebhookURL, ev)
	if d.Err != "" {
		return d, fmt.Errorf("deliver %s: %s", ev.EventName, d.Err)
	}
	return d, nil
}

func (s *Simulator) deliver(ctx context.Context, signer *WebhookSigner, url string, ev partnercenter.Event) Delivery {
	d := Delivery{URL: url, Event: ev}
	defer func() {
		s.mu.Lock()
		s.pc.deliveries = append(s.pc.deliveries, d)
		s.mu.Unlock()
	}()
	if signer == nil {
		d.Err = "the simulator has no webhook signer"
		return d
	}
	body, _ := json.Marshal(ev)
	req, err := signer.Request(ctx, url, body)
	if err != nil {
		d.Err = err.Error()
		return d
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		d.Err = err.Error()
		return d
	}
	_ = resp.Body.Close()
	d.Status = resp.StatusCode
	return d
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// WebhookSigner signs deliveries as Partner Center does: a certificate
// issued by a test CA whose organization is "Microsoft Corporation", served
// over https from its own loopback server, and RSA-SHA256 over the body in
// "Authorization: Signature <base64>". Everything is generated in process.
// https://learn.microsoft.com/en-us/partner-center/developer/partner-center-webhooks#receiving-events-from-partner-center
type WebhookSigner struct {
	key     *rsa.PrivateKey
	certDER []byte
	roots   *x509.CertPool
	server  *httptest.Server
}

// NewWebhookSigner makes a CA and a signing certificate, and serves the
// certificate at CertURL over TLS on 127.0.0.1.
func NewWebhookSigner() (*WebhookSigner, error) {
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Simulated Microsoft Root", Organization: []string{partnercenter.MicrosoftOrganization}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	signer, err := NewSignerIssuedBy(caCert, caKey)
	if err != nil {
		return nil, err
	}
	signer.roots = x509.NewCertPool()
	signer.roots.AddCert(caCert)
	return signer, nil
}

// NewSignerIssuedBy is a signer whose certificate the given CA issues (a
// test makes a second CA for "wrong key" and "not Microsoft's" cases).
func NewSignerIssuedBy(ca *x509.Certificate, caKey *rsa.PrivateKey) (*WebhookSigner, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "pcnotifications-dispatch.microsoft.com", Organization: []string{partnercenter.MicrosoftOrganization}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	s := &WebhookSigner{key: key, certDER: der}
	s.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cert/pcnotifications-dispatch.microsoft.com.cer" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-cert")
		_, _ = w.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.certDER}))
	}))
	s.server.Listener.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.server.Listener = l
	s.server.StartTLS()
	return s, nil
}

// CertURL is where the signing certificate is served (x-ms-certificate-url).
func (s *WebhookSigner) CertURL() string {
	return s.server.URL + "/cert/pcnotifications-dispatch.microsoft.com.cer"
}

// CertHost is CertURL's host: the one host a receiver must allow.
func (s *WebhookSigner) CertHost() string { return strings.TrimPrefix(s.server.URL, "https://") }

// Roots trust the signer's CA.
func (s *WebhookSigner) Roots() *x509.CertPool { return s.roots }

// HTTPClient fetches from the certificate server (it trusts its TLS certificate).
func (s *WebhookSigner) HTTPClient() *http.Client { return s.server.Client() }

// Close stops the certificate server.
func (s *WebhookSigner) Close() { s.server.Close() }

// Sign is the base64 RSA-SHA256 signature of body.
func (s *WebhookSigner) Sign(body []byte) string {
	h := sha256.Sum256(body)
	sig, _ := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, h[:])
	return base64.StdEncoding.EncodeToString(sig)
}

// Request is a signed delivery of body to url, with Partner Center's headers.
func (s *WebhookSigner) Request(ctx context.Context, url string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Signature "+s.Sign(body))
	req.Header.Set(partnercenter.HeaderCertificateURL, s.CertURL())
	req.Header.Set(partnercenter.HeaderSignatureAlgorithm, "rsa-sha256")
	return req, nil
}
