package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"dewar/index"
)

// CreateUser records u; index.ErrUserExists for a taken access key,
// ErrInvalid for an unknown role. A zero CreatedAt is set to now.
func (ix *Index) CreateUser(ctx context.Context, u index.User) error {
	if !u.Role.Valid() {
		return fmt.Errorf("%w: role %q", ErrInvalid, u.Role)
	}
	u.CreatedAt = ix.stamp(u.CreatedAt)
	return ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := ix.exec(ctx, tx, `INSERT INTO users (access_key, secret_key, name, role, created_at) VALUES (?, ?, ?, ?, ?)`,
			u.AccessKey, u.SecretKey, u.Name, string(u.Role), tm(&u.CreatedAt))
		if ix.d.constraint(err) == UniqueViolation {
			return fmt.Errorf("sqlindex: user %q: %w", u.AccessKey, index.ErrUserExists)
		}
		if err != nil {
			return fmt.Errorf("sqlindex: create user %q: %w", u.AccessKey, err)
		}
		return nil
	})
}

const userCols = `access_key, secret_key, name, role, created_at`

func scanUser(s scanner) (index.User, error) {
	var u index.User
	var role string
	err := s.Scan(&u.AccessKey, &u.SecretKey, &u.Name, &role, tm(&u.CreatedAt))
	u.Role = index.Role(role)
	return u, err
}

// GetUser returns index.ErrUserNotFound when unknown.
func (ix *Index) GetUser(ctx context.Context, accessKey string) (index.User, error) {
	u, err := scanUser(ix.queryRow(ctx, ix.reader, `SELECT `+userCols+` FROM users WHERE access_key = ?`, accessKey))
	if errors.Is(err, sql.ErrNoRows) {
		return index.User{}, fmt.Errorf("sqlindex: user %q: %w", accessKey, index.ErrUserNotFound)
	}
	if err != nil {
		return index.User{}, fmt.Errorf("sqlindex: get user %q: %w", accessKey, err)
	}
	return u, nil
}

// ListUsers returns all users by access key.
func (ix *Index) ListUsers(ctx context.Context) ([]index.User, error) {
	var us []index.User
	err := ix.scanAll(ctx, ix.reader, func(rows *sql.Rows) error {
		u, err := scanUser(rows)
		us = append(us, u)
		return err
	}, `SELECT `+userCols+` FROM users ORDER BY access_key`)
	if err != nil {
		return nil, fmt.Errorf("sqlindex: list users: %w", err)
	}
	return us, nil
}

// DeleteUser returns index.ErrUserNotFound when unknown.
func (ix *Index) DeleteUser(ctx context.Context, accessKey string) error {
	return ix.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := ix.exec(ctx, tx, `DELETE FROM users WHERE access_key = ?`, accessKey)
		if err != nil {
			return fmt.Errorf("sqlindex: delete user %q: %w", accessKey, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlindex: delete user %q: %w", accessKey, err)
		} else if n == 0 {
			return fmt.Errorf("sqlindex: user %q: %w", accessKey, index.ErrUserNotFound)
		}
		return nil
	})
}
