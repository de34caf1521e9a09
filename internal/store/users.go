package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// User is an account. PasswordHash and TOTPSecret are opaque to the store
// (argon2id PHC string; the TOTP secret encrypted by the caller).
type User struct {
	ID           string         `json:"id"`
	TenantID     string         `json:"tenant_id"`
	Username     string         `json:"username"`
	DisplayName  string         `json:"display_name"`
	Role         string         `json:"role"`
	PasswordHash string         `json:"-"`
	TOTPSecret   string         `json:"-"`
	Frozen       bool           `json:"frozen"`
	FailedLogins int            `json:"failed_logins"`
	MustChange   bool           `json:"must_change"`
	Skills       map[string]int `json:"skills,omitempty"` // skill group -> proficiency 1..10
	CreatedAt    time.Time      `json:"created_at"`
}

const userCols = `id, tenant_id, username, display_name, role, password_hash, totp_secret, frozen, failed_logins, must_change, skills, created_at`

func scanUser(r scanner) (User, error) {
	var (
		u            User
		frozen, must int
		skills       string
		created      int64
	)
	if err := r.Scan(&u.ID, &u.TenantID, &u.Username, &u.DisplayName, &u.Role, &u.PasswordHash, &u.TOTPSecret, &frozen, &u.FailedLogins, &must, &skills, &created); err != nil {
		return User{}, notFound(err)
	}
	u.Frozen, u.MustChange, u.CreatedAt = frozen != 0, must != 0, fromMS(created)
	_ = json.Unmarshal([]byte(skills), &u.Skills)
	return u, nil
}

// CreateUser adds a user in a tenant of sc.
func (s *DB) CreateUser(ctx context.Context, sc Scope, u User) error {
	if u.ID == "" || u.Username == "" || u.Role == "" {
		return fmt.Errorf("store: user needs id, username and role: %w", ErrInvalid)
	}
	if !sc.Contains(u.TenantID) {
		return fmt.Errorf("store: user %q in tenant %q: %w", u.Username, u.TenantID, ErrForbidden)
	}
	skills, _ := json.Marshal(u.Skills)
	now := ms(s.now())
	_, err := s.exec(ctx, `INSERT INTO users (`+userCols+`, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		u.ID, u.TenantID, u.Username, u.DisplayName, u.Role, u.PasswordHash, u.TOTPSecret, b2i(u.Frozen), 0, b2i(u.MustChange), string(skills), now, now)
	if isUnique(err) {
		return fmt.Errorf("store: user %q: %w", u.Username, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create user: %w", err)
	}
	return nil
}

// User returns a user of sc by id.
func (s *DB) User(ctx context.Context, sc Scope, id string) (User, error) {
	c, args := sc.cond("tenant_id")
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id=? AND `+c, append([]any{id}, args...)...))
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", id, err)
	}
	return u, nil
}

// UserByName finds a user for sign-in. Sign-in happens before any scope
// exists, so this is the one lookup across tenants; it returns the row only
// to the authentication code.
func (s *DB) UserByName(ctx context.Context, username string) (User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE username=?`, username))
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", username, err)
	}
	return u, nil
}

// Users lists the users of sc, optionally of one tenant and role.
func (s *DB) Users(ctx context.Context, sc Scope, tenant, role string) ([]User, error) {
	c, args := sc.cond("tenant_id")
	q := `SELECT ` + userCols + ` FROM users WHERE ` + c
	if tenant != "" {
		q += ` AND tenant_id=?`
		args = append(args, tenant)
	}
	if role != "" {
		q += ` AND role=?`
		args = append(args, role)
	}
	rows, err := s.query(ctx, q+` ORDER BY username`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserUpdate lists the fields to change; nil pointers are left alone.
type UserUpdate struct {
	DisplayName  *string
	Role         *string
	PasswordHash *string
	TOTPSecret   *string
	Frozen       *bool
	FailedLogins *int
	MustChange   *bool
	Skills       map[string]int
}

// UpdateUser changes a user of sc.
func (s *DB) UpdateUser(ctx context.Context, sc Scope, id string, up UserUpdate) error {
	set := "updated_at=?"
	args := []any{ms(s.now())}
	add := func(col string, v any) { set += ", " + col + "=?"; args = append(args, v) }
	if up.DisplayName != nil {
		add("display_name", *up.DisplayName)
	}
	if up.Role != nil {
		add("role", *up.Role)
	}
	if up.PasswordHash != nil {
		add("password_hash", *up.PasswordHash)
	}
	if up.TOTPSecret != nil {
		add("totp_secret", *up.TOTPSecret)
	}
	if up.Frozen != nil {
		add("frozen", b2i(*up.Frozen))
	}
	if up.FailedLogins != nil {
		add("failed_logins", *up.FailedLogins)
	}
	if up.MustChange != nil {
		add("must_change", b2i(*up.MustChange))
	}
	if up.Skills != nil {
		b, _ := json.Marshal(up.Skills)
		add("skills", string(b))
	}
	c, cargs := sc.cond("tenant_id")
	args = append(append(args, id), cargs...)
	res, err := s.exec(ctx, `UPDATE users SET `+set+` WHERE id=? AND `+c, args...)
	return affected(res, err, "update user "+id)
}

// Session is a sign-in token (stored as its SHA-256, never in clear).
type Session struct {
	TokenHash string
	UserID    string
	TenantID  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateSession stores a session.
func (s *DB) CreateSession(ctx context.Context, se Session) error {
	_, err := s.exec(ctx, `INSERT INTO sessions (token_hash, user_id, tenant_id, created_at, expires_at) VALUES (?,?,?,?,?)`,
		se.TokenHash, se.UserID, se.TenantID, ms(se.CreatedAt), ms(se.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionByHash returns a live session and its user.
func (s *DB) SessionByHash(ctx context.Context, hash string) (Session, User, error) {
	var se Session
	var created, expires int64
	err := s.queryRow(ctx, `SELECT token_hash, user_id, tenant_id, created_at, expires_at FROM sessions WHERE token_hash=? AND expires_at>?`,
		hash, ms(s.now())).Scan(&se.TokenHash, &se.UserID, &se.TenantID, &created, &expires)
	if err != nil {
		return Session{}, User{}, fmt.Errorf("store: session: %w", notFound(err))
	}
	se.CreatedAt, se.ExpiresAt = fromMS(created), fromMS(expires)
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id=? AND tenant_id=?`, se.UserID, se.TenantID))
	if err != nil {
		return Session{}, User{}, fmt.Errorf("store: session user: %w", err)
	}
	return se, u, nil
}

// DeleteSessions ends sessions: one token (hash != "") or all of a user.
func (s *DB) DeleteSessions(ctx context.Context, userID, hash string) error {
	var err error
	if hash != "" {
		_, err = s.exec(ctx, `DELETE FROM sessions WHERE token_hash=?`, hash)
	} else {
		_, err = s.exec(ctx, `DELETE FROM sessions WHERE user_id=?`, userID)
	}
	if err != nil {
		return fmt.Errorf("store: delete sessions: %w", err)
	}
	return nil
}
