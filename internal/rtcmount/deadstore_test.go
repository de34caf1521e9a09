package rtcmount

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/witness-media/witness/internal/blob"
	"github.com/witness-media/witness/internal/jobs"
	"github.com/witness-media/witness/internal/store"
	"github.com/witness-media/witness/internal/testkit/miniotest"
	"github.com/witness-media/witness/signaling"
)

// TestDeadObjectStoreKeepsAndRetries: the object store is down when a
// room's recording is handed off. The upload jobs fail and are
// dead-lettered, the spooled file and its journal stay, QC still gives
// the record its verdict; when the store comes back the redrive uploads
// the file, verified, links it to the record and ends the journal.
func TestDeadObjectStoreKeepsAndRetries(t *testing.T) {
	needFFmpeg(t)
	miniotest.Binary(t)               // skip now, not after the dead-store half, without one
	endpoint := miniotest.FreeAddr(t) // nothing listens there: a dead object store

	cfg := testConfig(t)
	cfg.Control.S3.Endpoint, cfg.Control.S3.Bucket = endpoint, "recordings"
	cfg.Control.S3.AccessKey, cfg.Control.S3.SecretKey = miniotest.AccessKey, miniotest.SecretKey
	cfg.Control.JobMaxDeliver = 2
	RedriveAfter = time.Second
	t.Cleanup(func() { RedriveAfter = 2 * time.Minute })
	e := start(t, cfg)

	admin := e.login("admin", e.p.FirstAdminPassword())
	e.must(e.call("PUT", "/api/v1/tenants/province/queues", admin, map[string]any{"queues": []map[string]any{{"name": "q"}}, "routes": []map[string]any{{"queue": "q"}}}, nil), 200, "queues")
	var joined struct {
		Ticket struct{ ID string }
	}
	e.must(e.call("POST", "/api/v1/queue/join", "", map[string]any{"tenant_id": "province", "customer_id": "cust1", "channel": "app", "business": "open"}, &joined), 201, "join")
	room := joined.Ticket.ID

	// A finished room recording in the spool, handed to the hook exactly
	// as the signaling recorder does.
	dir := filepath.Join(cfg.SignalingDir(), room)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, room+"_001.mp4")
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10:duration=3",
		"-f", "lavfi", "-i", "sine=frequency=500:duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, b)
	}
	sum, size, err := blob.FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	sub := &submitter{q: e.p.Queue, db: e.p.DB, blob: e.p.Blob, log: e.p.Log, spool: cfg.SignalingDir()}
	f := signaling.RecordingFile{Room: room, Tenant: "province", Segment: 1, Kind: "composite", Path: path, Size: size, SHA256: sum, Started: time.Now().Add(-3 * time.Second), Ended: time.Now()}
	sub.hook(f)
	j := newJournal(f)

	// The upload is dead-lettered; QC does not need the store.
	waitFor(t, 120*time.Second, "the first upload job to be dead-lettered", func() bool {
		r, err := e.p.DB.JobResultByID(context.Background(), j.JobID+".upload")
		return err == nil && r.Status == "dead"
	})
	waitFor(t, 60*time.Second, "the QC verdict on the record", func() bool {
		r, err := e.p.DB.Record(context.Background(), store.System(), room)
		return err == nil && r.QCVerdict != ""
	})
	if got, _, err := blob.FileSHA256(path); err != nil || got != sum {
		t.Fatalf("spooled recording changed or lost: %s %v", got, err)
	}
	if _, err := os.Stat(path + pendingSuffix); err != nil {
		t.Fatalf("journal gone while the upload is not verified: %v", err)
	}
	if r, _ := e.p.DB.Record(context.Background(), store.System(), room); len(r.Recordings) != 0 {
		t.Fatalf("recording linked without a verified upload: %+v", r.Recordings)
	}

	// The store comes back (empty: no bucket yet).
	miniotest.StartAt(t, endpoint)
	var rec store.Record
	waitFor(t, 120*time.Second, "the redriven upload to be linked to the record", func() bool {
		rec, _ = e.p.DB.Record(context.Background(), store.System(), room)
		return len(rec.Recordings) == 1
	})
	link := rec.Recordings[0]
	if link.SHA256 != sum || link.Size != size || link.Key != "province/"+room+"/"+room+"_001.mp4" {
		t.Fatalf("link %+v, file sha256 %s size %d", link, sum, size)
	}
	info, err := e.p.Blob.Stat(context.Background(), link.Key)
	if err != nil || info.SHA256 != sum {
		t.Fatalf("store holds %+v %v", info, err)
	}
	waitFor(t, 30*time.Second, "the journal to end", func() bool {
		_, err := os.Stat(path + pendingSuffix)
		return os.IsNotExist(err)
	})
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("spooled file removed: %v", err)
	}
	var jl struct {
		Jobs []store.JobResult `json:"jobs"`
	}
	e.must(e.call("GET", "/api/v1/jobs?subject="+room, admin, nil, &jl), 200, "jobs")
	dead, done := 0, 0
	for _, r := range jl.Jobs {
		if r.Kind == jobs.KindUpload {
			switch r.Status {
			case "dead":
				dead++
			case "done":
				done++
			}
		}
	}
	if dead < 1 || done != 1 {
		for _, r := range jl.Jobs {
			t.Logf("job %s %s %s attempts %d at %s", r.JobID, r.Kind, r.Status, r.Attempts, r.CreatedAt.Format("15:04:05.000"))
		}
		t.Fatalf("upload jobs: %d dead, %d done", dead, done)
	}
	t.Logf("upload dead-lettered %d time(s) while the store was down, then verified after the redrive; QC %s", dead, rec.QCVerdict)
}

// TestCrashLeftPartIsFinalised: a room recording a crash left as
// ROOM_NNN.mp4.part in the spool is finalised at the next start: renamed,
// uploaded (verified), quality-checked and linked to its service record,
// under the record's tenant.
func TestCrashLeftPartIsFinalised(t *testing.T) {
	needFFmpeg(t)
	cfg := testConfig(t)
	e := start(t, cfg)
	admin := e.login("admin", e.p.FirstAdminPassword())
	e.must(e.call("PUT", "/api/v1/tenants/province/queues", admin, map[string]any{"queues": []map[string]any{{"name": "q"}}, "routes": []map[string]any{{"queue": "q"}}}, nil), 200, "queues")
	var joined struct {
		Ticket struct{ ID string }
	}
	e.must(e.call("POST", "/api/v1/queue/join", "", map[string]any{"tenant_id": "province", "customer_id": "cust1", "channel": "app", "business": "open"}, &joined), 201, "join")
	room := joined.Ticket.ID
	e.stop()

	// What the recorder was writing when the process died.
	dir := filepath.Join(cfg.SignalingDir(), room)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(dir, room+"_001.mp4")
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10:duration=3",
		"-f", "lavfi", "-i", "sine=frequency=500:duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
		"-shortest", "-f", "mp4", final+".part").CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, b)
	}
	sum, size, err := blob.FileSHA256(final + ".part")
	if err != nil {
		t.Fatal(err)
	}

	e2 := start(t, cfg)
	var rec store.Record
	waitFor(t, 120*time.Second, "the crash-left recording linked and checked", func() bool {
		rec, _ = e2.p.DB.Record(context.Background(), store.System(), room)
		return len(rec.Recordings) == 1 && rec.QCVerdict != ""
	})
	link := rec.Recordings[0]
	if link.Key != "province/"+room+"/"+room+"_001.mp4" || link.SHA256 != sum || link.Size != size {
		t.Fatalf("link %+v, want sha256 %s size %d", link, sum, size)
	}
	if _, err := os.Stat(final + ".part"); !os.IsNotExist(err) {
		t.Fatalf(".part still there: %v", err)
	}
	if got, _, err := blob.FileSHA256(final); err != nil || got != sum {
		t.Fatalf("finalised spool file %s: %s %v", final, got, err)
	}
	waitFor(t, 30*time.Second, "the journal to end", func() bool {
		_, err := os.Stat(final + ".part" + pendingSuffix)
		return os.IsNotExist(err)
	})
}
