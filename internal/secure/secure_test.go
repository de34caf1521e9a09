package secure

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm4"
)

func TestRoundTripAndBinding(t *testing.T) {
	for _, alg := range []string{SM4GCM, AESGCM} {
		key := bytes.Repeat([]byte{7}, KeySize(alg))
		c, err := NewFieldCipher(alg, key)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := c.Encrypt("id_number", "110101199003071234")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(ct, "1234") || !strings.HasPrefix(ct, alg+":") {
			t.Fatalf("%s ciphertext %q", alg, ct)
		}
		ct2, _ := c.Encrypt("id_number", "110101199003071234")
		if ct == ct2 {
			t.Fatal("same plaintext gave the same ciphertext: nonce reused")
		}
		if p, err := c.Decrypt("id_number", ct); err != nil || p != "110101199003071234" {
			t.Fatalf("%s decrypt: %q %v", alg, p, err)
		}
		if _, err := c.Decrypt("phone", ct); !errors.Is(err, ErrCiphertext) {
			t.Fatalf("%s moved to another field decrypted: %v", alg, err)
		}
		other, _ := NewFieldCipher(alg, bytes.Repeat([]byte{8}, KeySize(alg)))
		if _, err := other.Decrypt("id_number", ct); !errors.Is(err, ErrCiphertext) {
			t.Fatalf("%s wrong key decrypted: %v", alg, err)
		}
		tampered := ct[:len(ct)-2] + "AA"
		if _, err := c.Decrypt("id_number", tampered); !errors.Is(err, ErrCiphertext) {
			t.Fatalf("%s tampered decrypted: %v", alg, err)
		}
	}
	if _, err := NewFieldCipher(SM4GCM, make([]byte, 32)); !errors.Is(err, ErrKey) {
		t.Fatal("sm4 with a 32-byte key accepted")
	}
}

// TestSM4KnownAnswer checks the block cipher against the GB/T 32907-2016
// example, so SM4 really is SM4.
func TestSM4KnownAnswer(t *testing.T) {
	key := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	want := []byte{0x68, 0x1e, 0xdf, 0x34, 0xd2, 0x06, 0x96, 0x5e, 0x86, 0xb3, 0xe9, 0x4f, 0x53, 0x6e, 0x42, 0x46}
	b, _ := sm4.NewCipher(key)
	out := make([]byte, 16)
	b.Encrypt(out, key)
	if !bytes.Equal(out, want) {
		t.Fatalf("SM4 %x, want %x", out, want)
	}
}

func TestMask(t *testing.T) {
	for _, c := range []struct{ f, in, want string }{
		{"id_number", "110101199003071234", "110101********1234"},
		{"card_number", "6222021234567890123", "622202*********0123"},
		{"phone", "13812345678", "138****5678"},
		{"name", "王小明", "王**"},
		{"phone", "12", "1*"},
	} {
		if got := Mask(c.f, c.in); got != c.want {
			t.Errorf("Mask(%s, %s) = %s, want %s", c.f, c.in, got, c.want)
		}
	}
}
