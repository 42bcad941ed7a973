package main

import (
	"testing"
	"time"

	"github.com/csp-onboarding/onboarding/mail/mailtest"
)

func TestCountEmails(t *testing.T) {
	kill := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return kill.Add(d) }
	msg := func(to, subject string, received time.Time) mailtest.Message {
		return mailtest.Message{To: []string{to}, Subject: subject, ReceivedAt: received}
	}
	msgs := []mailtest.Message{
		msg("old@x.example", "before the load", at(-time.Hour)), // not counted
		msg("a@x.example", "Invitation", at(-10*time.Second)),
		msg("p@x.example", "New reseller relationship: A", at(-5*time.Second)),
		msg("p@x.example", "New reseller relationship: B", at(-5*time.Second)),
		// Cut by the kill: first copy 2 s before it, again after the retry.
		msg("b@x.example", "Invitation", at(-2*time.Second)),
		msg("b@x.example", "Invitation", at(40*time.Second)),
		// Twice, long before the kill: a defect.
		msg("c@x.example", "Invitation", at(-20*time.Second)),
		msg("c@x.example", "Invitation", at(-19*time.Second)),
		// Three times around the kill: a defect too.
		msg("d@x.example", "Invitation", at(-time.Second)),
		msg("d@x.example", "Invitation", at(10*time.Second)),
		msg("d@x.example", "Invitation", at(20*time.Second)),
	}
	logical, dups, cut, examples := countEmails(msgs, at(-time.Minute), kill)
	if logical != 6 || dups != 2 || cut != 1 || len(examples) != 2 {
		t.Fatalf("logical %d, dups %d, cut %d, examples %q", logical, dups, cut, examples)
	}
	if _, dups, cut, _ := countEmails(msgs, at(-time.Minute), time.Time{}); dups != 3 || cut != 0 {
		t.Fatalf("without a kill every duplicate is one: dups %d, cut %d", dups, cut)
	}
}
