package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

// partnerCenterDelivery is a Partner Center webhook delivery already
// accepted (migrations 00047): its body's digest, until it expires.
type partnerCenterDelivery struct {
	Digest     string `gorm:"primaryKey"`
	ExpiresAt  time.Time
	ReceivedAt time.Time
}

func (partnerCenterDelivery) TableName() string { return "partner_center_deliveries" }

// FirstDelivery records a delivery's digest until expires; false when it is
// recorded and not expired (a replay). Expired records are dropped on the
// way: deliveries are a handful a day, the index makes it cheap.
func (s *Store) FirstDelivery(ctx context.Context, digest string, expires time.Time) (bool, error) {
	at := now()
	db := s.db.WithContext(ctx)
	if err := db.Where("expires_at < ?", at).Delete(&partnerCenterDelivery{}).Error; err != nil {
		return false, err
	}
	res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&partnerCenterDelivery{Digest: digest, ExpiresAt: expires.UTC(), ReceivedAt: at})
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// ForgetDelivery drops a delivery's record (it could not be acted on, so
// Partner Center's retry must be accepted).
func (s *Store) ForgetDelivery(ctx context.Context, digest string) error {
	return s.db.WithContext(ctx).Where("digest = ?", digest).Delete(&partnerCenterDelivery{}).Error
}
