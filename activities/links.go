package activities

import (
	"context"
	"fmt"
	"time"
)

// linkStore is what the link activities write.
type linkStore interface {
	SupersedeLinkTokens(ctx context.Context, subjectID, purpose string, at time.Time) error
}

// SupersedeLinksInput names the links a newer one replaces.
type SupersedeLinksInput struct {
	SubjectID string
	Purpose   string
	At        time.Time
}

// SupersedeLinks closes a subject's open personal links before a newer one is
// sent (a resend), so that only the latest e-mail's link works. Idempotent.
func (a *Activities) SupersedeLinks(ctx context.Context, in SupersedeLinksInput) error {
	if err := a.Store.SupersedeLinkTokens(ctx, in.SubjectID, in.Purpose, in.At); err != nil {
		return fmt.Errorf("supersede links of %s: %w", in.SubjectID, err)
	}
	return nil
}
