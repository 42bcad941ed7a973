package activities

import (
	"context"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/store"
)

// ErrTypeInvalidData marks an activity whose data the database refuses for
// good (a CHECK or foreign-key violation, a NUL byte): retrying cannot help.
const ErrTypeInvalidData = "InvalidData"

// NonRetryableIfPermanent turns an error the database will repeat forever
// into a non-retryable one, so the workflow ends with a reason instead of
// retrying an insert that can never succeed.
func NonRetryableIfPermanent(err error) error {
	if err == nil || !store.IsPermanent(err) {
		return err
	}
	if _, ok := err.(*temporal.ApplicationError); ok {
		return err
	}
	return temporal.NewNonRetryableApplicationError("the database refuses this data: "+err.Error(), ErrTypeInvalidData, err)
}

// PermanentErrors is a worker interceptor applying NonRetryableIfPermanent
// to every activity.
type PermanentErrors struct {
	interceptor.WorkerInterceptorBase
}

// InterceptActivity wraps each activity execution.
func (*PermanentErrors) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &permanentActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type permanentActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *permanentActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := a.Next.ExecuteActivity(ctx, in)
	return res, NonRetryableIfPermanent(err)
}
