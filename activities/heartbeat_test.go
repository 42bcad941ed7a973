package activities

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/csp-onboarding/onboarding/mail"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// slowRelay takes its time to accept a message, as a loaded relay does.
type slowRelay struct{ took time.Duration }

func (r slowRelay) Send(ctx context.Context, _ mail.Message) error {
	select {
	case <-time.After(r.took):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A send beats while the relay holds it: a worker that dies mid-send stops
// beating, and Temporal retries the e-mail after the heartbeat timeout
// instead of the two-minute start-to-close limit.
func TestSendEmailBeatsWhileTheRelayHoldsIt(t *testing.T) {
	beatEvery = 20 * time.Millisecond
	t.Cleanup(func() { beatEvery = EmailHeartbeat })
	st := storetest.New(t, storetest.Dialects[1])
	acts := New(st, slowRelay{took: 300 * time.Millisecond}, "http://onboarding.test")
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	var beats atomic.Int32
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats.Add(1) })

	_, err := env.ExecuteActivity(acts.SendEmail, Email{Key: "slow-1", To: "a@b.example", Subject: "s", Body: "b"})
	require.NoError(t, err)
	// The SDK sends the first beat at once and throttles the rest to a share of
	// the heartbeat timeout (none in this environment): one is what reaches it.
	require.GreaterOrEqual(t, beats.Load(), int32(1), "a send that outlasts a beat interval beats")
}

func TestHeartbeatStopsWithTheSend(t *testing.T) {
	var beats atomic.Int32
	stop := heartbeatWhileRunning(context.Background(), 10*time.Millisecond, func() { beats.Add(1) })
	time.Sleep(120 * time.Millisecond)
	stop()
	n := beats.Load()
	require.GreaterOrEqual(t, n, int32(5), "about one beat every 10 ms")
	time.Sleep(60 * time.Millisecond)
	require.Equal(t, n, beats.Load(), "no beat once stopped")
}
