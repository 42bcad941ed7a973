package mail

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/textproto"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// Reasons of a permanent failure: what the operator or partner has to fix.
const (
	ReasonRecipientRefused = "recipient_refused" // 5xx to RCPT TO: the address does not exist or is not allowed
	ReasonRejected         = "message_rejected"  // another 5xx: the relay refuses the sender or the message
	ReasonAuthFailed       = "auth_failed"       // wrong user or password in SMTP_URL
	ReasonTLSFailed        = "tls_failed"        // handshake or certificate verification failed (see SMTP_TLS_CA)
	ReasonTLSUnavailable   = "tls_unavailable"   // TLS required (or needed for AUTH) but not offered
	ReasonConfig           = "misconfigured"     // no usable AUTH mechanism, a bad MAIL_FROM, …
)

// PermanentError is a delivery failure that a retry cannot fix.
type PermanentError struct {
	Reason string // one of the Reason constants
	Code   int    // the SMTP reply code, when the relay gave one
	Err    error
}

func (e *PermanentError) Error() string {
	return "e-mail not deliverable (" + e.Reason + "): " + e.Err.Error()
}

func (e *PermanentError) Unwrap() error { return e.Err }

// TransientError is a delivery failure worth retrying: the relay is down,
// slow, or answered 4xx.
type TransientError struct {
	Code int
	Err  error
}

func (e *TransientError) Error() string { return "e-mail delivery failed for now: " + e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// IsPermanent returns the permanent error inside err, if any.
func IsPermanent(err error) (*PermanentError, bool) {
	var p *PermanentError
	ok := errors.As(err, &p)
	return p, ok
}

// classifyConnect sorts a failure before the envelope: connect, greeting,
// STARTTLS, AUTH.
func classifyConnect(err error, authStarted bool) error {
	if p, ok := IsPermanent(err); ok {
		return p
	}
	if isTLSFailure(err) {
		return &PermanentError{Reason: ReasonTLSFailed, Err: fmt.Errorf("TLS with the relay failed (a certificate from a private CA needs SMTP_TLS_CA): %w", err)}
	}
	if strings.Contains(err.Error(), "does not support STARTTLS") {
		return &PermanentError{Reason: ReasonTLSUnavailable, Err: errors.New("SMTP_URL has tls=required but the relay does not offer STARTTLS")}
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		switch {
		case tp.Code >= 500 && authStarted:
			return &PermanentError{Reason: ReasonAuthFailed, Code: tp.Code, Err: fmt.Errorf("the relay refused the user and password of SMTP_URL: %d %s", tp.Code, tp.Msg)}
		case tp.Code >= 500:
			return &PermanentError{Reason: ReasonRejected, Code: tp.Code, Err: fmt.Errorf("the relay refused the session: %d %s", tp.Code, tp.Msg)}
		default:
			return &TransientError{Code: tp.Code, Err: err}
		}
	}
	if strings.Contains(err.Error(), "server does not support SMTP AUTH") {
		return &PermanentError{Reason: ReasonConfig, Err: errors.New("SMTP_URL has a user and password but the relay offers no AUTH")}
	}
	return &TransientError{Err: err}
}

// classifySend sorts a failure of the envelope or the data.
func classifySend(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		switch {
		case se.Reason == gomail.ErrSMTPRcptTo && !se.IsTemp() && code >= 500:
			return &PermanentError{Reason: ReasonRecipientRefused, Code: code, Err: err}
		case se.Reason == gomail.ErrNoUnencoded:
			return &PermanentError{Reason: ReasonConfig, Err: err}
		case !se.IsTemp() && code >= 500:
			return &PermanentError{Reason: ReasonRejected, Code: code, Err: err}
		}
		return &TransientError{Code: code, Err: err}
	}
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 {
		return &PermanentError{Reason: ReasonRejected, Code: tp.Code, Err: err}
	}
	return &TransientError{Err: err}
}

// isTLSFailure tells certificate and handshake failures (which a retry will
// not fix) from a connection dropped during the handshake (which it may).
func isTLSFailure(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		alert    tls.AlertError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &record) || errors.As(err, &alert) ||
		strings.Contains(err.Error(), "tls: ")
}
