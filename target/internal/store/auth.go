package store

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// HashIterations is the PBKDF2 work factor of new hashes. Django uses far
// more; the reference keeps it low so login-heavy load tests measure the
// server, not the hash. Existing hashes verify with their own count.
const HashIterations = 20000

// HashPassword returns a Django-format "pbkdf2_sha256$iter$salt$hash" string.
func HashPassword(password string) (string, error) {
	salt := randomSalt(22)
	return hashWith(password, salt, HashIterations)
}

func hashWith(password, salt string, iter int) (string, error) {
	key, err := pbkdf2.Key(sha256.New, password, []byte(salt), iter, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iter, salt, base64.StdEncoding.EncodeToString(key)), nil
}

// CheckPassword verifies password against a Django pbkdf2_sha256 hash.
func CheckPassword(password, encoded string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2_sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter <= 0 || iter > 10_000_000 {
		return false
	}
	got, err := hashWith(password, parts[2], iter)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(encoded)) == 1
}

const saltAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomSalt(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = saltAlphabet[int(b[i])%len(saltAlphabet)]
	}
	return string(b)
}

// Authenticate returns the user id for a username or email (case-insensitive
// email) and password; ok is false for unknown users and wrong passwords.
func (s *Store) Authenticate(ctx context.Context, login, password string) (int64, bool, error) {
	login = strings.TrimSpace(login)
	if login == "" || password == "" {
		return 0, false, nil
	}
	var (
		id   int64
		hash string
	)
	err := s.r.QueryRowContext(ctx,
		"SELECT id, password FROM users WHERE username = ? OR lower(email) = lower(?) ORDER BY username = ? DESC LIMIT 1",
		login, login, login).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		// Hash anyway so unknown users take as long as known ones.
		CheckPassword(password, "pbkdf2_sha256$"+strconv.Itoa(HashIterations)+"$x$")
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("authenticate %q: %w", login, err)
	}
	if !CheckPassword(password, hash) {
		return 0, false, nil
	}
	return id, true, nil
}

// User is an account as the pages show it.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email"`
}

// UserByID returns a user; ok is false when it does not exist.
func (s *Store) UserByID(ctx context.Context, id int64) (User, bool, error) {
	u := User{ID: id}
	err := s.r.QueryRowContext(ctx, "SELECT username, email FROM users WHERE id = ?", id).Scan(&u.Username, &u.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, fmt.Errorf("look up user %d: %w", id, err)
	}
	return u, true, nil
}

// Sessions is the database session store shared by all workers (Django's
// db session backend). Its methods match the server's Sessions interface.
type Sessions struct{ s *Store }

// Sessions returns the database session store.
func (s *Store) Sessions() *Sessions { return &Sessions{s: s} }

// Get returns the user of a live session; ok is false for unknown or expired keys.
func (d *Sessions) Get(ctx context.Context, key string) (int64, bool, error) {
	var (
		uid int64
		exp int64
	)
	err := d.s.readRow(ctx, "SELECT user_id, expires_at FROM sessions WHERE key = ?", []any{key}, &uid, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("get session: %w", err)
	}
	if d.s.now().UnixMilli() >= exp {
		return 0, false, nil
	}
	return uid, true, nil
}

// Set creates or replaces a session for userID that expires after ttl. It
// also drops expired sessions so the table stays small under login load.
func (d *Sessions) Set(ctx context.Context, key string, userID int64, ttl time.Duration) error {
	if key == "" {
		return errors.New("set session: empty key")
	}
	now := d.s.now()
	return d.s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO sessions(key, user_id, expires_at) VALUES(?,?,?) ON CONFLICT(key) DO UPDATE SET user_id=excluded.user_id, expires_at=excluded.expires_at",
			key, userID, now.Add(ttl).UnixMilli()); err != nil {
			return fmt.Errorf("set session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ?", now.UnixMilli()); err != nil {
			return fmt.Errorf("expire sessions: %w", err)
		}
		return nil
	})
}

// Delete removes a session (logout); unknown keys are not an error.
func (d *Sessions) Delete(ctx context.Context, key string) error {
	return d.s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE key = ?", key); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return nil
	})
}
