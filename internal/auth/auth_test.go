package auth

import (
	"testing"
	"time"
)

func TestPassword(t *testing.T) {
	SetFastHashing()
	h, err := HashPassword("correct horse 42")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := CheckPassword(h, "correct horse 42"); !ok || err != nil {
		t.Fatalf("right password rejected: %v", err)
	}
	if ok, _ := CheckPassword(h, "correct horse 43"); ok {
		t.Fatal("wrong password accepted")
	}
	if _, err := CheckPassword("$bcrypt$x", "a"); err != ErrHash {
		t.Fatalf("bad hash: %v", err)
	}
	if err := CheckStrength("short1"); err == nil {
		t.Fatal("weak password accepted")
	}
	if err := CheckStrength(RandomPassword()); err != nil {
		t.Fatal(err)
	}
}

func TestTOTP(t *testing.T) {
	secret, url, err := NewTOTP("Witness", "li")
	if err != nil || url == "" {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	code, _ := TOTPCode(secret, now)
	if !CheckTOTP(secret, code, now) || !CheckTOTP(secret, code, now.Add(30*time.Second)) {
		t.Fatal("valid code rejected")
	}
	if CheckTOTP(secret, code, now.Add(5*time.Minute)) {
		t.Fatal("stale code accepted")
	}
	// RFC 6238 appendix B test vector (SHA-1, 8 digits truncated to the
	// last 6): T=59 -> 94287082.
	rfc := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if c, _ := TOTPCode(rfc, time.Unix(59, 0)); c != "287082" {
		t.Fatalf("RFC 6238 vector: %s", c)
	}
}

func TestRBAC(t *testing.T) {
	if Can(RoleAgent, PermUserWrite) || !Can(RoleTenantAdmin, PermUserWrite) || Can(RoleSupervisor, PermCustomerPII) {
		t.Fatal("role table")
	}
	if MayGrant(RoleTenantAdmin, RoleProvinceAdmin) || !MayGrant(RoleProvinceAdmin, RoleProvinceAdmin) || MayGrant(RoleSupervisor, RoleAgent) {
		t.Fatal("grant rules")
	}
}
