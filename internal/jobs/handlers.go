package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/witness-media/witness/internal/blob"
	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/qc"
)

// QCResult is what a QC job stores.
type QCResult struct {
	Verdict  string          `json:"verdict"`
	SHA256   string          `json:"sha256"`
	Summary  string          `json:"summary"`
	Findings int             `json:"findings"`
	Policy   string          `json:"policy"` // "default" or "template <tenant>/<business>"
	Report   json.RawMessage `json:"report"`
}

// QCHandler runs qc.Check on the job's file and records the verdict on
// the service record. Progress, if set, is passed to the check (tests use
// it to kill a worker mid-decode).
func QCHandler(db *store.DB, policy qc.Policy, progress func(done, total time.Duration)) Handler {
	return func(ctx context.Context, j Job) (json.RawMessage, error) {
		pol, name, err := policyFor(ctx, db, j.RecordID, policy)
		if err != nil {
			return nil, err
		}
		rep, err := qc.CheckWith(ctx, j.Path, pol, qc.Options{Threads: 1, NoThumbnails: true, Progress: progress})
		if err != nil {
			if errors.Is(err, qc.ErrUnreadable) || errors.Is(err, qc.ErrPolicy) {
				return nil, fmt.Errorf("%w: %v", ErrPermanent, err)
			}
			return nil, err
		}
		rj, err := rep.JSON()
		if err != nil {
			return nil, err
		}
		if j.RecordID != "" {
			if err := db.SetRecordQC(ctx, store.System(), j.RecordID, string(rep.Verdict)); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		return json.Marshal(QCResult{Verdict: string(rep.Verdict), SHA256: rep.SHA256, Summary: rep.Summary(), Findings: len(rep.Findings), Policy: name, Report: rj})
	}
}

// policyFor is the QC policy for a record: its business template's
// (tenant or nearest parent) when that sets one, else def. A template's
// policy that no longer parses is an error, not a silent default: the
// verdict would be judged by rules nobody chose.
func policyFor(ctx context.Context, db *store.DB, recordID string, def qc.Policy) (qc.Policy, string, error) {
	if recordID == "" {
		return def, "default", nil
	}
	_, tpl, err := db.RecordTemplate(ctx, recordID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && strings.TrimSpace(tpl.QCPolicy) == "") {
		return def, "default", nil
	}
	if err != nil {
		return qc.Policy{}, "", err
	}
	p, err := qc.ParsePolicy([]byte(tpl.QCPolicy))
	if err != nil {
		return qc.Policy{}, "", fmt.Errorf("%w: QC policy of template %s/%s: %w", ErrPermanent, tpl.TenantID, tpl.Business, err)
	}
	return p, "template " + tpl.TenantID + "/" + tpl.Business, nil
}

// UploadHandler uploads the job's file to the blob store and links it to
// the record. The spooled file is kept unless the copy verified.
func UploadHandler(db *store.DB, up *blob.Uploader) Handler {
	return func(ctx context.Context, j Job) (json.RawMessage, error) {
		key := j.Key
		if key == "" {
			key = j.TenantID + "/" + filepath.Base(j.Path)
		}
		if j.SHA256 != "" {
			// The spooled file must still be what the recorder finished;
			// anything else is evidence altered on disk, not a retry case.
			sum, _, err := blob.FileSHA256(j.Path)
			if err != nil {
				return nil, err
			}
			if sum != j.SHA256 {
				return nil, fmt.Errorf("%w: %s: sha256 %s, recorded %s: %w", ErrPermanent, j.Path, sum, j.SHA256, blob.ErrChecksum)
			}
		}
		info, err := up.Upload(ctx, key, j.Path)
		if err != nil {
			if errors.Is(err, blob.ErrKey) {
				return nil, fmt.Errorf("%w: %v", ErrPermanent, err)
			}
			return nil, err
		}
		if j.RecordID != "" {
			if err := db.AddRecordRecording(ctx, store.System(), j.RecordID, store.RecordingLink{Key: info.Key, SHA256: info.SHA256, Size: info.Size}); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		return json.Marshal(info)
	}
}

// FinalizeHandler finishes a recording left as NAME.part (the mixer
// writes there and renames on success; a crash leaves the .part): it
// syncs and renames it, then queues upload and QC of the final file. An
// already-final file is just queued on.
func FinalizeHandler(q *Queue) Handler {
	return func(ctx context.Context, j Job) (json.RawMessage, error) {
		final := strings.TrimSuffix(j.Path, ".part")
		if final != j.Path {
			if _, err := os.Stat(j.Path); err == nil {
				f, err := os.OpenFile(j.Path, os.O_RDWR, 0)
				if err != nil {
					return nil, err
				}
				serr := f.Sync()
				f.Close()
				if serr != nil {
					return nil, serr
				}
				if err := os.Rename(j.Path, final); err != nil {
					return nil, err
				}
			} else if _, ferr := os.Stat(final); ferr != nil {
				return nil, fmt.Errorf("%w: neither %s nor %s exists", ErrPermanent, j.Path, final)
			}
		}
		sum, size, err := blob.FileSHA256(final)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPermanent, err)
		}
		if j.SHA256 != "" && sum != j.SHA256 {
			return nil, fmt.Errorf("%w: %s: sha256 %s, recorded %s: %w", ErrPermanent, final, sum, j.SHA256, blob.ErrChecksum)
		}
		// Derived job ids make resubmission after a redelivery a no-op.
		up, err := q.Submit(ctx, Job{ID: j.ID + ".upload", Kind: KindUpload, TenantID: j.TenantID, RecordID: j.RecordID, Path: final, Key: j.Key, SHA256: j.SHA256})
		if err != nil {
			return nil, err
		}
		qcID, err := q.Submit(ctx, Job{ID: j.ID + ".qc", Kind: KindQC, TenantID: j.TenantID, RecordID: j.RecordID, Path: final})
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"path": final, "sha256": sum, "size": size, "upload_job": up, "qc_job": qcID})
	}
}
