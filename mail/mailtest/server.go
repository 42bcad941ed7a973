// Package mailtest runs a real SMTP server on loopback that keeps what it
// receives, for tests and the benchmark.
package mailtest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received e-mail.
type Message struct {
	From    string
	To      []string
	Subject string
	Body    string
	Raw     string
}

// Server is a running SMTP server.
type Server struct {
	srv      *smtp.Server
	listener net.Listener
	mu       sync.Mutex
	messages []Message
	notify   chan struct{}
}

// Start listens on 127.0.0.1 on a free port.
func Start() (*Server, error) {
	s := &Server{notify: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{server: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.listener = l
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// URL is the SMTP_URL that reaches this server.
func (s *Server) URL() string { return "smtp://" + s.listener.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Messages returns a copy of everything received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
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
	from   string
	to     []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: s.from, To: s.to, Raw: string(raw)}
	if parsed, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		dec := new(mime.WordDecoder)
		m.Subject, _ = dec.DecodeHeader(parsed.Header.Get("Subject"))
		body, _ := io.ReadAll(parsed.Body)
		m.Body = strings.ReplaceAll(string(body), "\r\n", "\n")
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
