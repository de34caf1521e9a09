package signaling

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Roles a token can carry.
const (
	RoleAgent      = "agent"
	RoleCustomer   = "customer"
	RoleSupervisor = "supervisor"
	RoleGuest      = "guest"
)

func validRole(r string) error {
	switch r {
	case RoleAgent, RoleCustomer, RoleSupervisor, RoleGuest:
		return nil
	}
	return fmt.Errorf("unknown role %q", trunc(r, 32))
}

// Permissions a token can grant.
const (
	PermPublish   = "publish"   // send media
	PermSubscribe = "subscribe" // receive media
	PermModerate  = "moderate"  // mute others, kick, hold, ask others for a resolution
	PermMonitor   = "monitor"   // join hidden (silent monitoring) and barge in
	PermRecord    = "record"    // start / stop recording segments
	PermInvite    = "invite"    // issue tokens for others, transfer
	PermChat      = "chat"      // chat, push, files
)

// DefaultPerms are the permissions of each role when a token lists none.
var DefaultPerms = map[string][]string{
	RoleAgent:      {PermPublish, PermSubscribe, PermModerate, PermRecord, PermInvite, PermChat},
	RoleCustomer:   {PermPublish, PermSubscribe, PermChat},
	RoleSupervisor: {PermSubscribe, PermMonitor, PermModerate, PermPublish, PermChat},
	RoleGuest:      {PermPublish, PermSubscribe, PermChat},
}

// Claims are what a join token asserts. Tokens are signed by the control
// plane (or `witness sfu` for tests) with the shared secret.
type Claims struct {
	Room     string   `json:"room"`
	Identity string   `json:"sub"`
	Role     string   `json:"role"`
	Tenant   string   `json:"tenant"`
	Expires  int64    `json:"exp"` // Unix seconds
	Perms    []string `json:"perms,omitempty"`
	Hidden   bool     `json:"hidden,omitempty"` // join as a silent monitor (needs monitor)
	Name     string   `json:"name,omitempty"`
}

// Can reports whether the claims grant perm.
func (c *Claims) Can(perm string) bool { return slices.Contains(c.Perms, perm) }

// Sign returns a compact token: base64url(JSON claims) "." base64url(HMAC-SHA256).
// Empty permissions get the role's defaults.
func Sign(secret []byte, c Claims) (string, error) {
	if len(secret) < 16 {
		return "", fmt.Errorf("%w: secret shorter than 16 bytes", ErrToken)
	}
	if err := validRole(c.Role); err != nil {
		return "", fmt.Errorf("%w: %w", ErrToken, err)
	}
	if c.Room == "" || c.Identity == "" {
		return "", fmt.Errorf("%w: room and identity are required", ErrToken)
	}
	if len(c.Perms) == 0 {
		c.Perms = DefaultPerms[c.Role]
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(body)
	return p + "." + base64.RawURLEncoding.EncodeToString(mac(secret, p)), nil
}

// Verify checks the signature and expiry (with one minute of clock skew)
// and returns the claims.
func Verify(secret []byte, token string, now time.Time) (*Claims, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return nil, fmt.Errorf("%w: malformed", ErrToken)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, p)) {
		return nil, fmt.Errorf("%w: bad signature", ErrToken)
	}
	body, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed", ErrToken)
	}
	var c Claims
	if err := strictUnmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrToken, err)
	}
	if now.After(time.Unix(c.Expires, 0).Add(time.Minute)) {
		return nil, fmt.Errorf("%w: expired at %s", ErrToken, time.Unix(c.Expires, 0).UTC().Format(time.RFC3339))
	}
	if c.Room == "" || c.Identity == "" || validRole(c.Role) != nil {
		return nil, fmt.Errorf("%w: incomplete claims", ErrToken)
	}
	if c.Hidden && !c.Can(PermMonitor) {
		return nil, fmt.Errorf("%w: hidden join without the monitor permission", ErrToken)
	}
	return &c, nil
}

func mac(secret []byte, payload string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(payload))
	return h.Sum(nil)
}
