// Package mailtest runs a real SMTP server on loopback that keeps what it
// receives, for tests and the benchmark. It can play a strict relay: TLS with
// a certificate made on the spot (STARTTLS or implicit), AUTH required before
// MAIL, recipients refused with 5xx, or every command deferred with 4xx.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one received e-mail. Body is the plain-text part, decoded; HTML
// the HTML part when the e-mail had one.
type Message struct {
	From    string
	To      []string
	Subject string
	Body    string
	HTML    string
	Header  mail.Header
	Raw     string
	// ReceivedAt is when the relay accepted the message (end of DATA).
	ReceivedAt time.Time
}

// Options make a strict relay. The zero value is a plain, open server.
type Options struct {
	// TLS is the server's certificate (see NewCA); nil means no TLS.
	TLS *tls.Certificate
	// Implicit serves TLS from the first byte (smtps); otherwise STARTTLS is offered.
	Implicit bool
	// RequireTLS refuses MAIL before STARTTLS.
	RequireTLS bool
	// User and Password, when set, are required (AUTH PLAIN) before MAIL.
	User, Password string
	// RefuseRecipients answers 550 to RCPT TO for these addresses.
	RefuseRecipients []string
	// Defer answers 451 to every MAIL: a relay that is up but not accepting.
	Defer bool
}

// Server is a running SMTP server.
type Server struct {
	srv      *smtp.Server
	opts     Options
	listener net.Listener
	mu       sync.Mutex
	messages []Message
	attempts int
	notify   chan struct{}
}

// Start listens on 127.0.0.1 on a free port: a plain, open server.
func Start() (*Server, error) { return StartWith(Options{}) }

// StartWith listens on 127.0.0.1 on a free port with the given strictness.
func StartWith(o Options) (*Server, error) {
	s := &Server{notify: make(chan struct{}, 1), opts: o}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{server: s, conn: c}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = o.TLS == nil
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	if o.TLS != nil {
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*o.TLS}, MinVersion: tls.VersionTLS12}
	}
	if o.TLS != nil && o.Implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", s.srv.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, err
	}
	s.listener = l
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Addr is host:port.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is the SMTP_URL that reaches this server, with its credentials.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr()}
	if s.opts.TLS != nil && s.opts.Implicit {
		u.Scheme = "smtps"
	}
	if s.opts.User != "" {
		u.User = url.UserPassword(s.opts.User, s.opts.Password)
	}
	if s.opts.RequireTLS && !s.opts.Implicit {
		u.RawQuery = "tls=required"
	}
	return u.String()
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Messages returns a copy of everything received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Attempts counts MAIL commands, accepted or not.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// WaitFor waits until a message to the address whose subject contains the
// text arrives, and returns it.
func (s *Server) WaitFor(to, subjectContains string, timeout time.Duration) (Message, error) {
	deadline := time.After(timeout)
	for {
		for _, m := range s.Messages() {
			for _, rcpt := range m.To {
				if strings.EqualFold(rcpt, to) && strings.Contains(m.Subject, subjectContains) {
					return m, nil
				}
			}
		}
		select {
		case <-s.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			return Message{}, fmt.Errorf("no e-mail to %s with %q in its subject within %s (got %d messages)", to, subjectContains, timeout, len(s.Messages()))
		}
	}
}

type session struct {
	server *Server
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) AuthMechanisms() []string {
	if s.server.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.server.opts.User || pass != s.server.opts.Password {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	o := s.server.opts
	s.server.mu.Lock()
	s.server.attempts++
	s.server.mu.Unlock()
	if _, isTLS := s.conn.TLSConnectionState(); o.RequireTLS && !isTLS {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	}
	if o.User != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if o.Defer {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	for _, r := range s.server.opts.RefuseRecipients {
		if strings.EqualFold(r, to) {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: s.from, To: s.to, Raw: string(raw), ReceivedAt: time.Now()}
	if parsed, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Header = parsed.Header
		dec := new(mime.WordDecoder)
		m.Subject, _ = dec.DecodeHeader(parsed.Header.Get("Subject"))
		m.Body, m.HTML = decodeBody(parsed.Header.Get("Content-Type"), parsed.Header.Get("Content-Transfer-Encoding"), parsed.Body)
	}
	s.server.mu.Lock()
	s.server.messages = append(s.server.messages, m)
	s.server.mu.Unlock()
	select {
	case s.server.notify <- struct{}{}:
	default:
	}
	return nil
}

// decodeBody returns the text and HTML parts of a single-part or multipart body.
func decodeBody(contentType, encoding string, body io.Reader) (text, html string) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				return text, html
			}
			t, h := decodeBody(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
			text, html = text+t, html+h
		}
	}
	var r io.Reader = body
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &newlineSkipper{r: body})
	}
	b, _ := io.ReadAll(r)
	out := strings.ReplaceAll(string(b), "\r\n", "\n")
	if mediaType == "text/html" {
		return "", out
	}
	return out, ""
}

type newlineSkipper struct{ r io.Reader }

func (n *newlineSkipper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}

// CA is a certificate authority made for one test.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  []byte
}

// NewCA makes a self-signed certificate authority.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// ServerCert issues a certificate for localhost and 127.0.0.1.
func (ca *CA) ServerCert() (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// WriteFile saves the CA's PEM in dir (for SMTP_TLS_CA) and returns its path.
func (ca *CA) WriteFile(dir string) (string, error) {
	path := filepath.Join(dir, "smtp-ca.pem")
	return path, os.WriteFile(path, ca.PEM, 0o600)
}
