package mail_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/mail"
	"github.com/csp-onboarding/onboarding/mail/mailtest"
)

const from = "CSP Onboarding <onboarding@csp.example>"

type relay struct {
	*mailtest.Server
	caFile string
}

// strictRelay requires STARTTLS and AUTH before MAIL, with a certificate from
// a CA made for this test; implicit serves TLS from the first byte.
func strictRelay(t *testing.T, implicit bool, adjust func(*mailtest.Options)) relay {
	t.Helper()
	ca, err := mailtest.NewCA()
	require.NoError(t, err)
	cert, err := ca.ServerCert()
	require.NoError(t, err)
	o := mailtest.Options{TLS: cert, Implicit: implicit, RequireTLS: true, User: "relay-user", Password: "s3cret p@ss"}
	if adjust != nil {
		adjust(&o)
	}
	srv, err := mailtest.StartWith(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	caFile, err := ca.WriteFile(t.TempDir())
	require.NoError(t, err)
	return relay{Server: srv, caFile: caFile}
}

func sender(t *testing.T, url, caFile string) *mail.SMTPSender {
	t.Helper()
	s, err := mail.NewSMTPSender(mail.Options{URL: url, From: from, CAFile: caFile, ConnectTimeout: 2 * time.Second, SendTimeout: 5 * time.Second})
	require.NoError(t, err)
	return s
}

func message(to string) mail.Message {
	return mail.Message{Key: "invitation:abc:initial", To: to, Subject: "Hello\r\nBcc: evil@attacker.example",
		Text: "Line one\r\na\r.\rMAIL FROM:<ceo@victim.example>\nlink: {{link}}\x00\x1b end",
		HTML: "<p>Hello <a href=\"https://x.example/i/t\">open</a></p>"}
}

func TestSendThroughStrictRelays(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		name := map[bool]string{false: "starttls", true: "implicit-tls"}[implicit]
		t.Run(name, func(t *testing.T) {
			r := strictRelay(t, implicit, nil)
			require.NoError(t, sender(t, r.URL(), r.caFile).Send(context.Background(), message("admin@northwind.example")))
			got, err := r.WaitFor("admin@northwind.example", "Hello", 5*time.Second)
			require.NoError(t, err)
			require.Equal(t, "HelloBcc: evil@attacker.example", got.Subject, "no header can be injected through the subject")
			require.Empty(t, got.Header.Get("Bcc"))
			require.Equal(t, "<invitation.abc.initial@csp-onboarding>", got.Header.Get("Message-Id"))
			require.Equal(t, "auto-generated", got.Header.Get("Auto-Submitted"))
			require.NotEmpty(t, got.Header.Get("Date"))
			require.Contains(t, got.Header.Get("Content-Type"), "multipart/alternative")
			require.Contains(t, got.Body, "Line one\na.MAIL FROM:<ceo@victim.example>\nlink: {{link}} end")
			require.NotContains(t, got.Raw, "\r.\r", "no bare CR reaches DATA")
			for i, c := range got.Raw {
				if c == '\r' && (i+1 >= len(got.Raw) || got.Raw[i+1] != '\n') {
					t.Fatalf("bare CR at %d in %q", i, got.Raw)
				}
			}
			require.Contains(t, got.HTML, `<a href="https://x.example/i/t">open</a>`)
		})
	}
}

func TestPlainTextOnlyWithoutHTML(t *testing.T) {
	r := strictRelay(t, false, nil)
	m := message("a@b.example")
	m.HTML = ""
	require.NoError(t, sender(t, r.URL(), r.caFile).Send(context.Background(), m))
	got, err := r.WaitFor("a@b.example", "Hello", 5*time.Second)
	require.NoError(t, err)
	require.Contains(t, got.Header.Get("Content-Type"), "text/plain")
}

func requirePermanent(t *testing.T, err error, reason string) {
	t.Helper()
	require.Error(t, err)
	p, ok := mail.IsPermanent(err)
	require.True(t, ok, "want a permanent error, got %T: %v", err, err)
	require.Equal(t, reason, p.Reason, err.Error())
	require.NotContains(t, err.Error(), "s3cret", "the password never appears in an error")
}

func requireTransient(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	_, permanent := mail.IsPermanent(err)
	require.False(t, permanent, "want a transient error, got %v", err)
	var tr *mail.TransientError
	require.True(t, errors.As(err, &tr), "%T: %v", err, err)
}

func TestPermanentFailures(t *testing.T) {
	t.Run("wrong password", func(t *testing.T) {
		r := strictRelay(t, false, nil)
		url := strings.Replace(r.URL(), "s3cret%20p@ss", "wrong", 1)
		url = strings.Replace(url, "s3cret%20p%40ss", "wrong", 1)
		require.NotEqual(t, r.URL(), url)
		requirePermanent(t, sender(t, url, r.caFile).Send(context.Background(), message("a@b.example")), mail.ReasonAuthFailed)
	})
	t.Run("wrong password over implicit TLS", func(t *testing.T) {
		r := strictRelay(t, true, nil)
		url := strings.Replace(strings.Replace(r.URL(), "s3cret%20p@ss", "wrong", 1), "s3cret%20p%40ss", "wrong", 1)
		requirePermanent(t, sender(t, url, r.caFile).Send(context.Background(), message("a@b.example")), mail.ReasonAuthFailed)
	})
	t.Run("refused recipient", func(t *testing.T) {
		r := strictRelay(t, false, func(o *mailtest.Options) { o.RefuseRecipients = []string{"nobody@northwind.example"} })
		requirePermanent(t, sender(t, r.URL(), r.caFile).Send(context.Background(), message("nobody@northwind.example")), mail.ReasonRecipientRefused)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		r := strictRelay(t, false, nil)
		requirePermanent(t, sender(t, r.URL(), "").Send(context.Background(), message("a@b.example")), mail.ReasonTLSFailed)
	})
	t.Run("untrusted certificate, implicit TLS", func(t *testing.T) {
		r := strictRelay(t, true, nil)
		requirePermanent(t, sender(t, r.URL(), "").Send(context.Background(), message("a@b.example")), mail.ReasonTLSFailed)
	})
	t.Run("TLS required but not offered", func(t *testing.T) {
		srv, err := mailtest.Start()
		require.NoError(t, err)
		defer srv.Close()
		requirePermanent(t, sender(t, srv.URL()+"?tls=required", "").Send(context.Background(), message("a@b.example")), mail.ReasonTLSUnavailable)
	})
	t.Run("password never sent without TLS", func(t *testing.T) {
		srv, err := mailtest.StartWith(mailtest.Options{User: "u", Password: "s3cret"})
		require.NoError(t, err)
		defer srv.Close()
		// The relay offers AUTH on a plain connection; the sender still refuses to send the password.
		s := sender(t, srv.URL(), "")
		requirePermanent(t, s.Send(context.Background(), message("a@b.example")), mail.ReasonTLSUnavailable)
		require.Empty(t, srv.Messages())
	})
}

func TestTransientFailures(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		requireTransient(t, sender(t, "smtp://"+addr, "").Send(context.Background(), message("a@b.example")))
	})
	t.Run("4xx", func(t *testing.T) {
		r := strictRelay(t, false, func(o *mailtest.Options) { o.Defer = true })
		requireTransient(t, sender(t, r.URL(), r.caFile).Send(context.Background(), message("a@b.example")))
	})
	t.Run("a relay that never answers", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close() // silent: no greeting
			}
		}()
		s, err := mail.NewSMTPSender(mail.Options{URL: "smtp://" + l.Addr().String(), From: from, ConnectTimeout: 300 * time.Millisecond, SendTimeout: 500 * time.Millisecond})
		require.NoError(t, err)
		start := time.Now()
		requireTransient(t, s.Send(context.Background(), message("a@b.example")))
		require.Less(t, time.Since(start), 3*time.Second, "the timeouts bound a silent relay")
	})
}

func TestParseSMTPURL(t *testing.T) {
	for _, ok := range []string{
		"smtp://user:pass@smtp.office365.com:587", "smtp://u:p@email-smtp.eu-west-1.amazonaws.com:587?tls=required",
		"smtps://u:p@smtp.example.com:465", "smtp://mailpit:1025?tls=none", "smtp://relay.example",
	} {
		_, err := mail.NewSMTPSender(mail.Options{URL: ok, From: from})
		require.NoError(t, err, ok)
	}
	for _, bad := range []string{
		"http://u:hunter22@host", "smtp://u:hunter22@host:99999", "smtps://u:hunter22@host?tls=none",
		"smtp://u:hunter22@host?tls=maybe", "smtp://u:hunter22@host?starttls=1", "smtp://u:hunter22@:25", "smtp://u:hunter22@ho st",
	} {
		_, err := mail.NewSMTPSender(mail.Options{URL: bad, From: from})
		require.Error(t, err, bad)
		require.NotContains(t, err.Error(), "hunter22", "the password is never echoed")
		require.Contains(t, err.Error(), "SMTP_URL")
	}
	_, err := mail.NewSMTPSender(mail.Options{URL: "smtp://h", From: from, CAFile: "/nonexistent.pem"})
	require.ErrorContains(t, err, "SMTP_TLS_CA")
}
