// Package mail delivers e-mail over SMTP (SMTP_URL) with github.com/wneessen/go-mail.
// Messages reach it only through the outbox, which guarantees one message per key.
//
// Every failure is classified: a *PermanentError (the relay refused the
// recipient or the message, authentication failed, TLS could not be
// established or verified) will not change on a retry; anything else
// (connection refused, timeouts, 4xx answers) is transient.
package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Message is one e-mail to send. HTML is optional: when set, the e-mail is
// multipart/alternative with Text as the plain part.
type Message struct {
	Key     string // outbox key; also the Message-ID's local part
	To      string
	Subject string
	Text    string
	HTML    string
}

// TLS modes of SMTP_URL.
const (
	TLSOpportunistic = "opportunistic" // smtp:// : STARTTLS whenever the relay offers it
	TLSRequired      = "required"      // smtp://…?tls=required : no STARTTLS, no mail
	TLSImplicit      = "implicit"      // smtps:// : TLS from the first byte (port 465)
	TLSNone          = "none"          // smtp://…?tls=none : plain text, only where the operator says so
)

// Options configure an SMTPSender.
type Options struct {
	URL            string        // SMTP_URL
	From           string        // MAIL_FROM
	CAFile         string        // SMTP_TLS_CA: PEM file of a private CA, added to the system pool
	ConnectTimeout time.Duration // SMTP_CONNECT_TIMEOUT: TCP connect and each SMTP reply
	SendTimeout    time.Duration // SMTP_SEND_TIMEOUT: the whole exchange of one message
}

// Default timeouts.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultSendTimeout    = time.Minute
)

// SMTPSender sends mail through one SMTP relay.
type SMTPSender struct {
	host, user, pass string
	port             int
	mode             string
	from             string
	tlsConfig        *tls.Config
	connectTimeout   time.Duration
	sendTimeout      time.Duration
}

const urlForms = "smtp://user:password@host:587 (STARTTLS when offered), smtp://user:password@host:587?tls=required, " +
	"smtps://user:password@host:465 (implicit TLS) or smtp://host:25?tls=none; percent-encode @ : / ? # in the user or password"

// NewSMTPSender parses SMTP_URL and prepares the TLS settings. Its errors say
// what to change and never contain the password.
func NewSMTPSender(o Options) (*SMTPSender, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("SMTP_URL is not a URL (%s): use %s", redactErr(err, o.URL), urlForms)
	}
	if (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("SMTP_URL %q: use %s", Redact(o.URL), urlForms)
	}
	s := &SMTPSender{host: u.Hostname(), mode: TLSOpportunistic, port: 587,
		connectTimeout: o.ConnectTimeout, sendTimeout: o.SendTimeout}
	if s.connectTimeout <= 0 {
		s.connectTimeout = DefaultConnectTimeout
	}
	if s.sendTimeout <= 0 {
		s.sendTimeout = DefaultSendTimeout
	}
	if u.Scheme == "smtps" {
		s.mode, s.port = TLSImplicit, 465
	}
	for name := range u.Query() {
		if name != "tls" {
			return nil, fmt.Errorf("SMTP_URL %q: unknown parameter %q (only tls=required or tls=none)", Redact(o.URL), name)
		}
	}
	switch v := u.Query().Get("tls"); {
	case v == "":
	case u.Scheme == "smtps":
		return nil, fmt.Errorf("SMTP_URL %q: smtps:// is always TLS; drop ?tls=%s", Redact(o.URL), v)
	case v == TLSRequired || v == TLSNone || v == TLSOpportunistic:
		s.mode = v
	default:
		return nil, fmt.Errorf("SMTP_URL %q: tls=%q is not one of required, none", Redact(o.URL), v)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("SMTP_URL %q: %q is not a port number", Redact(o.URL), p)
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	from, err := netmail.ParseAddress(o.From)
	if err != nil {
		return nil, fmt.Errorf("MAIL_FROM %q is not an e-mail address such as \"CSP Onboarding <onboarding@example.com>\": %w", o.From, err)
	}
	s.from = from.String()
	s.tlsConfig = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("SMTP_TLS_CA: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SMTP_TLS_CA %s holds no PEM certificate", o.CAFile)
		}
		s.tlsConfig.RootCAs = pool
	}
	return s, nil
}

// Describe says where mail goes, without the password (for the startup log).
func (s *SMTPSender) Describe() string {
	return fmt.Sprintf("%s:%d (TLS %s, auth %t)", s.host, s.port, s.mode, s.user != "")
}

// Send delivers one message. The whole exchange is bounded by the send
// timeout and by ctx.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.sendTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()

	policy := gomail.TLSOpportunistic
	switch s.mode {
	case TLSRequired:
		policy = gomail.TLSMandatory
	case TLSNone, TLSImplicit: // implicit: TLS is done by the dialer below, there is no STARTTLS on top
		policy = gomail.NoTLS
	}
	auth := &guardedAuth{user: s.user, pass: s.pass, host: s.host}
	opts := []gomail.Option{
		gomail.WithPort(s.port), gomail.WithTLSPolicy(policy), gomail.WithTLSConfig(s.tlsConfig),
		gomail.WithTimeout(s.connectTimeout), gomail.WithHELO(heloName(s.from)),
		gomail.WithDialContextFunc(s.dialer(ctx, deadline)),
	}
	if s.user != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(auth))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return &PermanentError{Reason: ReasonConfig, Err: err}
	}
	client, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return classifyConnect(err, auth.started)
	}
	defer func() { _ = c.CloseWithSMTPClient(client) }()
	if err := c.SendWithSMTPClient(client, msg); err != nil {
		if msg.IsDelivered() {
			return nil // accepted at end of DATA; only the RSET after it failed
		}
		return classifySend(err)
	}
	return nil
}

// build makes the MIME message: control characters stripped from every
// header value and body line (no bare CR ever reaches DATA), a stable
// Message-ID from the outbox key, Date and Auto-Submitted.
func (s *SMTPSender) build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return nil, &PermanentError{Reason: ReasonConfig, Err: fmt.Errorf("MAIL_FROM: %w", err)}
	}
	if err := msg.To(CleanHeader(m.To)); err != nil {
		return nil, &PermanentError{Reason: ReasonRejected, Err: fmt.Errorf("recipient %q: %w", CleanHeader(m.To), err)}
	}
	msg.Subject(CleanHeader(m.Subject))
	msg.SetMessageIDWithValue(MessageID(m.Key))
	msg.SetDateWithValue(time.Now())
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, CleanBody(m.Text))
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, CleanBody(m.HTML))
	}
	return msg, nil
}

// MessageID is the Message-ID (without brackets) of an outbox key: a retried
// delivery carries the same one, so receivers can drop the duplicate.
func MessageID(key string) string {
	return strings.NewReplacer(":", ".", "/", ".", "<", "", ">", "", "@", ".", " ", "").Replace(CleanHeader(key)) + "@csp-onboarding"
}

// CleanHeader removes every control character (CR and LF included) from a
// header value: nothing can start a new header or line.
func CleanHeader(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// CleanBody normalises line ends to LF (the library writes CRLF) and removes
// bare CRs and every other control character except tab.
func CleanBody(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// dialer connects (and, for smtps, does the TLS handshake) with every read and
// write bounded by the exchange's deadline, which the library's per-command
// deadlines cannot extend.
func (s *SMTPSender) dialer(exchange context.Context, deadline time.Time) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: s.connectTimeout}
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn := &boundedConn{Conn: raw, limit: deadline}
		_ = conn.SetDeadline(deadline)
		// An activity cancelled mid-exchange drops the connection at once.
		context.AfterFunc(exchange, func() { _ = raw.Close() })
		if s.mode != TLSImplicit {
			return conn, nil
		}
		tc := tls.Client(conn, s.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, &tlsError{err: err}
		}
		return tc, nil
	}
}

// boundedConn never lets a deadline move past the exchange's limit.
type boundedConn struct {
	net.Conn
	limit time.Time
}

func (c *boundedConn) clamp(t time.Time) time.Time {
	if t.IsZero() || t.After(c.limit) {
		return c.limit
	}
	return t
}
func (c *boundedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *boundedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *boundedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.clamp(t)) }

// tlsError marks a failed implicit-TLS handshake.
type tlsError struct{ err error }

func (e *tlsError) Error() string { return "TLS handshake: " + e.err.Error() }
func (e *tlsError) Unwrap() error { return e.err }

// guardedAuth sends the credentials only over TLS, with PLAIN or LOGIN, and
// notes that authentication began so that a 5xx after it reads as a wrong
// password rather than a refused message.
type guardedAuth struct {
	user, pass, host string
	started          bool
	inner            smtp.Auth
}

func (a *guardedAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS {
		return "", nil, &PermanentError{Reason: ReasonTLSUnavailable,
			Err: errors.New("the relay did not offer STARTTLS, and the password is only ever sent over TLS: use smtps:// or a relay with STARTTLS")}
	}
	switch {
	case containsFold(server.Auth, "PLAIN"):
		a.inner = smtp.PlainAuth("", a.user, a.pass, a.host, false)
	case containsFold(server.Auth, "LOGIN"):
		a.inner = smtp.LoginAuth(a.user, a.pass, a.host, false)
	default:
		return "", nil, &PermanentError{Reason: ReasonConfig,
			Err: fmt.Errorf("the relay offers no AUTH PLAIN or LOGIN (it offers %q)", strings.Join(server.Auth, " "))}
	}
	a.started = true
	return a.inner.Start(server)
}

func (a *guardedAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.inner.Next(fromServer, more)
}

func containsFold(list []string, want string) bool {
	for _, s := range list {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

// heloName is the sender's domain: relays dislike an EHLO with a container's hostname.
func heloName(from string) string {
	if a, err := netmail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i < len(a.Address)-1 {
			return a.Address[i+1:]
		}
	}
	return "localhost"
}

// Redact removes the password from an SMTP_URL.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}

// redactErr formats a url.Parse error without the URL, which carries the password.
func redactErr(err error, raw string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return strings.ReplaceAll(err.Error(), raw, "(SMTP_URL)")
}
