// Package auth holds accounts' credentials and permissions: argon2id
// password hashes, TOTP second factor (RFC 6238), opaque session tokens
// (stored only as their SHA-256) and the role -> permission table.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"
)

// Sentinel errors.
var (
	ErrBadCredentials = errors.New("wrong username, password or code")
	ErrWeakPassword   = errors.New("password too weak")
	ErrHash           = errors.New("unreadable password hash")
)

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1
// lane), so a shift change of hundreds of agents signing in at once does
// not exhaust a small control-plane host. Hashes carry their parameters,
// so raising these later keeps old hashes valid.
var (
	argonTime    uint32 = 2
	argonMemory  uint32 = 19 * 1024
	argonThreads uint8  = 1
)

// SetFastHashing lowers the argon2id cost; tests only.
func SetFastHashing() { argonTime, argonMemory, argonThreads = 1, 8*1024, 1 }

// HashPassword returns a PHC-format argon2id hash.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword compares pw with a hash made by HashPassword (with the
// parameters stored in it) in constant time.
func CheckPassword(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrHash
	}
	var (
		m, t uint32
		p    uint8
	)
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, ErrHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, ErrHash
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// CheckStrength enforces the bank-typical rule: at least 10 characters
// with letters and digits.
func CheckStrength(pw string) error {
	var letter, digit bool
	for _, r := range pw {
		letter = letter || unicode.IsLetter(r)
		digit = digit || unicode.IsDigit(r)
	}
	if len([]rune(pw)) < 10 || !letter || !digit {
		return fmt.Errorf("%w: at least 10 characters with letters and digits", ErrWeakPassword)
	}
	return nil
}

// RandomPassword makes a strong password for first sign-in and resets.
func RandomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	// base64 may lack a digit; append one so CheckStrength passes.
	return base64.RawURLEncoding.EncodeToString(b) + "7"
}

// NewToken returns a random session token and the hash to store.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, TokenHash(token)
}

// TokenHash is the stored form of a token.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewTOTP creates a TOTP secret for an account and its otpauth:// URL (for
// a QR code in an authenticator app).
func NewTOTP(issuer, account string) (secret, url string, err error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Algorithm: otp.AlgorithmSHA1, Digits: otp.DigitsSix, Period: 30})
	if err != nil {
		return "", "", err
	}
	return k.Secret(), k.URL(), nil
}

// CheckTOTP validates a 6-digit code at now, allowing one step of clock
// skew either way.
func CheckTOTP(secret, code string, now time.Time) bool {
	ok, err := totp.ValidateCustom(code, secret, now, totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	return err == nil && ok
}

// TOTPCode computes the current code (tests and the CLI's enrolment check).
func TOTPCode(secret string, now time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}
