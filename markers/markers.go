// Package markers keeps events (打点) against a recording's timeline: every
// analyzer event (source auto), every plugin event (plugin) and every mark
// an agent sets by hand (manual). A Store holds them (in memory, or one JSON
// file per recording; a database store implements the same interface), and
// export writes them next to the recording as a JSON sidecar, WebVTT
// chapters and an FFmpeg metadata file with chapters.
package markers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// Errors.
var (
	ErrInvalid  = errors.New("invalid marker")
	ErrNotFound = errors.New("marker not found")
)

// Marker is one point (or range) on a recording's timeline.
type Marker struct {
	ID          string            `json:"id"`
	Recording   string            `json:"recording"`
	At          time.Duration     `json:"at_ns"`            // media time from the start of the recording
	End         time.Duration     `json:"end_ns,omitempty"` // end of an episode; 0 for a point
	Kind        string            `json:"kind"`
	Severity    pipeline.Severity `json:"severity"`
	Source      pipeline.Origin   `json:"source"`
	Label       string            `json:"label,omitempty"` // shown in players' chapter lists
	Note        string            `json:"note,omitempty"`
	Author      string            `json:"author,omitempty"` // who set a manual marker
	Participant string            `json:"participant,omitempty"`
	WallTime    time.Time         `json:"wall_time"`
	Data        json.RawMessage   `json:"data,omitempty"`
}

// Validate rejects markers that cannot be placed on a timeline.
func (m *Marker) Validate() error {
	switch {
	case m.Recording == "":
		return fmt.Errorf("%w: no recording", ErrInvalid)
	case m.Kind == "":
		return fmt.Errorf("%w: no kind", ErrInvalid)
	case m.At < 0 || (m.End != 0 && m.End < m.At):
		return fmt.Errorf("%w: times %v..%v", ErrInvalid, m.At, m.End)
	}
	switch m.Source {
	case pipeline.OriginAuto, pipeline.OriginManual, pipeline.OriginPlugin:
	default:
		return fmt.Errorf("%w: source %q (want auto, manual or plugin)", ErrInvalid, m.Source)
	}
	return nil
}

// FromEvent makes a marker of an event.
func FromEvent(recording string, e pipeline.Event) Marker {
	return Marker{Recording: recording, At: e.MediaTime, Kind: e.Kind, Severity: e.Severity, Source: e.Source,
		Participant: e.Participant, WallTime: e.WallTime, Data: e.Data, Label: e.Kind}
}

// Store keeps markers. Implementations are safe for concurrent use.
type Store interface {
	// Add stores m (assigning ID and WallTime when empty) and returns it.
	Add(ctx context.Context, m Marker) (Marker, error)
	// List returns a recording's markers ordered by time.
	List(ctx context.Context, recording string) ([]Marker, error)
	// Delete removes one marker.
	Delete(ctx context.Context, recording, id string) error
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func prepare(m Marker) (Marker, error) {
	if m.ID == "" {
		m.ID = newID()
	}
	if m.WallTime.IsZero() {
		m.WallTime = time.Now().UTC()
	}
	if m.Label == "" {
		m.Label = m.Kind
	}
	return m, m.Validate()
}

func sortMarkers(ms []Marker) {
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].At < ms[j].At })
}

// MemStore keeps markers in memory.
type MemStore struct {
	mu sync.Mutex
	m  map[string][]Marker
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore { return &MemStore{m: map[string][]Marker{}} }

// Add implements Store.
func (s *MemStore) Add(_ context.Context, m Marker) (Marker, error) {
	m, err := prepare(m)
	if err != nil {
		return m, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[m.Recording] = append(s.m[m.Recording], m)
	return m, nil
}

// List implements Store.
func (s *MemStore) List(_ context.Context, rec string) ([]Marker, error) {
	s.mu.Lock()
	out := append([]Marker(nil), s.m[rec]...)
	s.mu.Unlock()
	sortMarkers(out)
	return out, nil
}

// Delete implements Store.
func (s *MemStore) Delete(_ context.Context, rec, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.m[rec]
	for i := range ms {
		if ms[i].ID == id {
			s.m[rec] = append(ms[:i:i], ms[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("%w: %s/%s", ErrNotFound, rec, id)
}

// FileStore keeps one JSON file per recording in Dir
// (<recording>.markers.json), rewritten atomically on every change so a
// crash leaves the previous or the new version, never half a file.
type FileStore struct {
	Dir string
	mu  sync.Mutex
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$`)

func (s *FileStore) path(rec string) (string, error) {
	if !safeName.MatchString(rec) || strings.Contains(rec, "..") {
		return "", fmt.Errorf("%w: recording id %q (letters, digits, . _ -)", ErrInvalid, rec)
	}
	return filepath.Join(s.Dir, rec+".markers.json"), nil
}

func (s *FileStore) load(rec string) ([]Marker, string, error) {
	p, err := s.path(rec)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, p, nil
	}
	if err != nil {
		return nil, p, err
	}
	var ms []Marker
	if err := json.Unmarshal(b, &ms); err != nil {
		return nil, p, fmt.Errorf("markers file %s: %w", p, err)
	}
	return ms, p, nil
}

func (s *FileStore) save(p string, ms []Marker) error {
	sortMarkers(ms)
	b, err := json.MarshalIndent(ms, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Add implements Store.
func (s *FileStore) Add(_ context.Context, m Marker) (Marker, error) {
	m, err := prepare(m)
	if err != nil {
		return m, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ms, p, err := s.load(m.Recording)
	if err != nil {
		return m, err
	}
	return m, s.save(p, append(ms, m))
}

// List implements Store.
func (s *FileStore) List(_ context.Context, rec string) ([]Marker, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms, _, err := s.load(rec)
	sortMarkers(ms)
	return ms, err
}

// Delete implements Store.
func (s *FileStore) Delete(_ context.Context, rec, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms, p, err := s.load(rec)
	if err != nil {
		return err
	}
	for i := range ms {
		if ms[i].ID == id {
			return s.save(p, append(ms[:i:i], ms[i+1:]...))
		}
	}
	return fmt.Errorf("%w: %s/%s", ErrNotFound, rec, id)
}

// AddManual stores a marker an agent set by hand at media time at.
func AddManual(ctx context.Context, s Store, recording string, at time.Duration, label, note, author string) (Marker, error) {
	if strings.TrimSpace(label) == "" {
		return Marker{}, fmt.Errorf("%w: a manual marker needs a label", ErrInvalid)
	}
	return s.Add(ctx, Marker{Recording: recording, At: at, Kind: "manual", Severity: pipeline.SeverityInfo,
		Source: pipeline.OriginManual, Label: label, Note: note, Author: author})
}

// Recorder returns a Host sink that stores every event as a marker of the
// recording; errors go to onErr (may be nil). Chain it with the NATS sink.
func Recorder(ctx context.Context, s Store, recording string, onErr func(error)) func(pipeline.Event) {
	return func(e pipeline.Event) {
		if _, err := s.Add(ctx, FromEvent(recording, e)); err != nil && onErr != nil {
			onErr(err)
		}
	}
}
