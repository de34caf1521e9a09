// Package secure protects sensitive customer fields (ID number, bank card
// number, phone): authenticated encryption at rest (SM4-GCM, the Chinese
// national standard cipher banks are asked to use, or AES-256-GCM) and
// masking for roles and logs that may not see them.
package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/sm4"
)

// Sentinel errors.
var (
	ErrKey        = errors.New("bad field key")
	ErrCiphertext = errors.New("field ciphertext is damaged or was made with another key")
)

// Algorithms.
const (
	SM4GCM = "sm4-gcm"
	AESGCM = "aes-gcm"
)

// FieldCipher encrypts and decrypts single fields. Ciphertexts are
// "ALG:base64(nonce|sealed)" so a later key or algorithm change can tell
// old values apart. Empty strings stay empty.
type FieldCipher struct {
	alg  string
	aead cipher.AEAD
}

// NewFieldCipher makes a cipher: SM4-GCM takes a 16-byte key, AES-GCM a
// 32-byte key.
func NewFieldCipher(alg string, key []byte) (*FieldCipher, error) {
	var (
		b   cipher.Block
		err error
	)
	switch alg {
	case SM4GCM:
		if len(key) != 16 {
			return nil, fmt.Errorf("%w: sm4 needs 16 bytes, got %d", ErrKey, len(key))
		}
		b, err = sm4.NewCipher(key)
	case AESGCM:
		if len(key) != 32 {
			return nil, fmt.Errorf("%w: aes-gcm needs 32 bytes, got %d", ErrKey, len(key))
		}
		b, err = aes.NewCipher(key)
	default:
		return nil, fmt.Errorf("%w: algorithm %q (want %s or %s)", ErrKey, alg, SM4GCM, AESGCM)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return &FieldCipher{alg: alg, aead: aead}, nil
}

// KeySize is the key length alg needs.
func KeySize(alg string) int {
	if alg == AESGCM {
		return 32
	}
	return 16
}

// Encrypt seals plain. The field name is bound as associated data, so a
// ciphertext moved to another column does not decrypt.
func (c *FieldCipher) Encrypt(field, plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := c.aead.Seal(nonce, nonce, []byte(plain), []byte(field))
	return c.alg + ":" + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Decrypt opens a value made by Encrypt for the same field.
func (c *FieldCipher) Decrypt(field, ct string) (string, error) {
	if ct == "" {
		return "", nil
	}
	alg, b64, ok := strings.Cut(ct, ":")
	if !ok || alg != c.alg {
		return "", fmt.Errorf("%w (field %s)", ErrCiphertext, field)
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	ns := c.aead.NonceSize()
	if err != nil || len(raw) < ns {
		return "", fmt.Errorf("%w (field %s)", ErrCiphertext, field)
	}
	plain, err := c.aead.Open(nil, raw[:ns], raw[ns:], []byte(field))
	if err != nil {
		return "", fmt.Errorf("%w (field %s)", ErrCiphertext, field)
	}
	return string(plain), nil
}

// Mask hides all but the edges of a sensitive value, the way Chinese bank
// statements print them: ID numbers keep the first 6 and last 4
// characters, card numbers the first 6 and last 4, phones the first 3 and
// last 4, names the first character.
func Mask(field, v string) string {
	r := []rune(v)
	keep := func(head, tail int) string {
		if len(r) <= head+tail {
			if len(r) <= 1 {
				return strings.Repeat("*", len(r))
			}
			return string(r[:1]) + strings.Repeat("*", len(r)-1)
		}
		return string(r[:head]) + strings.Repeat("*", len(r)-head-tail) + string(r[len(r)-tail:])
	}
	switch field {
	case "id_number", "card_number":
		return keep(6, 4)
	case "phone":
		return keep(3, 4)
	case "name":
		return keep(1, 0)
	default:
		return strings.Repeat("*", len(r))
	}
}
