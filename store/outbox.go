package store

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/csp-onboarding/onboarding/models"
)

// QueueMessage writes an e-mail under its key unless that key exists, in one
// transaction with the link token the message carries (if any). It returns the
// stored message: on a retry, the one written the first time.
func (s *Store) QueueMessage(ctx context.Context, msg models.OutboxMessage, token *models.LinkToken) (models.OutboxMessage, error) {
	var out models.OutboxMessage
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Where("key = ?", msg.Key).Take(&out).Error
		if err == nil {
			return nil // written by an earlier attempt: keep its token and text
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		if token != nil {
			token.EmailKey, token.CreatedAt = msg.Key, now()
			if err := tx.Create(token).Error; err != nil {
				return err
			}
		}
		msg.Status = models.OutboxPending
		msg.CreatedAt, msg.UpdatedAt = now(), now()
		if err := tx.Create(&msg).Error; err != nil {
			return err
		}
		out = msg
		return nil
	})
	return out, err
}

// MarkMessage records a delivery outcome. Once a message is sent or failed for
// good its sealed link is erased: nothing at rest can open the link any more.
func (s *Store) MarkMessage(ctx context.Context, key, status, lastError string) error {
	updates := map[string]any{"status": status, "last_error": lastError, "updated_at": now(),
		"attempts": gorm.Expr("attempts + 1")}
	if status == models.OutboxSent {
		updates["sent_at"] = now()
	}
	if status == models.OutboxSent || status == models.OutboxFailed {
		updates["sealed_link"] = nil
	}
	return s.db.WithContext(ctx).Model(&models.OutboxMessage{}).Where("key = ?", key).Updates(updates).Error
}

// GiveUpMessage marks a message failed unless it was delivered meanwhile, and
// erases its sealed link. It tells whether the message was still undelivered.
func (s *Store) GiveUpMessage(ctx context.Context, key, reason string) (bool, error) {
	res := s.db.WithContext(ctx).Model(&models.OutboxMessage{}).Where("key = ? AND status = ?", key, models.OutboxPending).
		Updates(map[string]any{"status": models.OutboxFailed, "last_error": reason, "sealed_link": nil, "updated_at": now()})
	return res.RowsAffected > 0, res.Error
}

// Message loads one e-mail by key.
func (s *Store) Message(ctx context.Context, key string) (models.OutboxMessage, error) {
	var m models.OutboxMessage
	err := s.db.WithContext(ctx).Where("key = ?", key).Take(&m).Error
	return m, notFound(err)
}

// Messages lists the newest e-mails (the dev mailbox).
func (s *Store) Messages(ctx context.Context, limit int) ([]models.OutboxMessage, error) {
	var out []models.OutboxMessage
	err := s.db.WithContext(ctx).Order("created_at DESC").Limit(limit).Find(&out).Error
	return out, err
}
