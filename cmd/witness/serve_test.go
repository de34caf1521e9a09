package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/witness-media/witness/internal/store/pgtest"
	_ "modernc.org/sqlite"
)

// serveProc runs `witness serve` and returns its base URL once it printed
// its addresses.
func serveProc(t *testing.T, dir string, args ...string) (base string, out *bytes.Buffer, cmd *exec.Cmd) {
	t.Helper()
	bin := witnessBinary(t)
	cmd = exec.Command(bin, append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "WITNESS_LOG_LEVEL=warn")
	stdout, _ := cmd.StdoutPipe()
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	must(t, cmd.Start())
	t.Cleanup(func() {
		if t.Failed() {
			// A failed (e.g. hung) test gets the server's goroutines: SIGQUIT
			// makes the Go runtime print them to stderr before exiting.
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			time.Sleep(2 * time.Second)
		}
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("serve stderr:\n%s", errBuf.String())
		}
	})
	out = &bytes.Buffer{}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	re := regexp.MustCompile(`(?:metrics|API)\s+(http://[0-9.:]+)`)
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited: %s\n%s", out, errBuf.String())
			}
			out.WriteString(l + "\n")
			if m := re.FindStringSubmatch(l); m != nil && base == "" {
				base = m[1]
			}
			if strings.Contains(l, "witness serve: ready") && base != "" {
				go func() {
					for l := range lines {
						out.WriteString(l + "\n")
					}
				}()
				return base, out, cmd
			}
		case <-deadline:
			t.Fatalf("serve did not print its addresses: %s\n%s", out, errBuf.String())
		}
	}
}

var callClient = &http.Client{Timeout: 60 * time.Second}

func call(t *testing.T, method, url, tok, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	// A bounded wait: a server that stops answering fails the test (with
	// its goroutine dump, see serveProc) instead of hanging the suite.
	resp, err := callClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	base, out, cmd := serveProc(t, dir)
	m := regexp.MustCompile(`first admin login: admin / (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no first admin login printed:\n%s", out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "first-admin.txt"))
	if err != nil || !strings.Contains(string(b), m[1]) {
		t.Fatalf("first-admin.txt: %v %q", err, b)
	}
	if st, _ := os.Stat(filepath.Join(dir, "first-admin.txt")); st.Mode().Perm() != 0o600 {
		t.Fatalf("first-admin.txt mode %v", st.Mode())
	}
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json", "/metrics"} {
		if code, _ := call(t, "GET", base+p, "", ""); code != 200 {
			t.Fatalf("GET %s: %d", p, code)
		}
	}
	code, res := call(t, "POST", base+"/api/v1/auth/login", "", `{"username":"admin","password":"`+m[1]+`"}`)
	if code != 200 {
		t.Fatalf("login: %d %v", code, res)
	}
	tok := res["token"].(string)
	if code, _ := call(t, "GET", base+"/api/v1/tenants", tok, ""); code != 403 {
		t.Fatalf("first admin must change the generated password first: %d", code)
	}
	if code, res := call(t, "POST", base+"/api/v1/me/password", tok, `{"old":"`+m[1]+`","new":"a-new-admin-pass-2026"}`); code != 204 {
		t.Fatalf("change password: %d %v", code, res)
	}
	if code, res := call(t, "POST", base+"/api/v1/tenants", tok, `{"id":"bank1","parent_id":"province","name":"Bank One","level":"bank","whitelisted":true}`); code != 201 {
		t.Fatalf("create tenant: %d %v", code, res)
	}
	if code, res := call(t, "PUT", base+"/api/v1/tenants/bank1/queues", tok, `{"queues":[{"name":"general","strategy":"longest-idle"}],"routes":[{"queue":"general"}]}`); code != 200 {
		t.Fatalf("queues: %d %v", code, res)
	}
	code, res = call(t, "POST", base+"/api/v1/queue/join", "", `{"tenant_id":"bank1","customer_id":"c1","channel":"h5","business":"open"}`)
	if code != 201 {
		t.Fatalf("join: %d %v", code, res)
	}
	// Restart: data, routing and the admin survive; no second first-admin.
	must(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve did not stop cleanly on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	base, out, _ = serveProc(t, dir)
	if strings.Contains(out.String(), "first admin login") {
		t.Fatal("second start created another first admin")
	}
	code, res = call(t, "POST", base+"/api/v1/auth/login", "", `{"username":"admin","password":"a-new-admin-pass-2026"}`)
	if code != 200 {
		t.Fatalf("login after restart: %d %v", code, res)
	}
	if code, res := call(t, "POST", base+"/api/v1/queue/join", "", `{"tenant_id":"bank1","customer_id":"c2","channel":"app","business":"open"}`); code != 201 {
		t.Fatalf("routing lost on restart: %d %v", code, res)
	}
	tok = res0(res, tok)
	code, res = call(t, "GET", base+"/api/v1/records", tok, "")
	recs, _ := res["records"].([]any)
	statuses := map[string]string{}
	for _, r := range recs {
		m := r.(map[string]any)
		statuses[m["customer_id"].(string)] = m["status"].(string)
	}
	if code != 200 || statuses["c1"] != "interrupted" || statuses["c2"] != "queued" {
		t.Fatalf("service records after restart: %d %v", code, statuses)
	}
	// The audit chain verifies from the command line.
	vout, err := exec.Command(witnessBinary(t), "audit", "verify", "--database", "sqlite:"+filepath.Join(dir, "witness.db")).CombinedOutput()
	if err != nil || !strings.Contains(string(vout), "audit chain ok") {
		t.Fatalf("audit verify: %v %s", err, vout)
	}
	// Someone with file access removes the guard trigger and rewrites an
	// entry: verify names it and exits 1.
	db, err := sql.Open("sqlite", filepath.Join(dir, "witness.db")+"?_pragma=busy_timeout(10000)")
	must(t, err)
	defer db.Close()
	_, err = db.Exec(`DROP TRIGGER audit_no_update`)
	must(t, err)
	_, err = db.Exec(`UPDATE audit SET actor='someone-else' WHERE seq=3`)
	must(t, err)
	vout, err = exec.Command(witnessBinary(t), "audit", "verify", "--database", "sqlite:"+filepath.Join(dir, "witness.db")).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(vout), "entry 3") {
		t.Fatalf("tampered audit log: %v %s", err, vout)
	}
}

func res0(res map[string]any, def string) string {
	if t, ok := res["token"].(string); ok {
		return t
	}
	return def
}

// TestServeRolesSplit runs the control plane and a media worker as two
// processes: a QC job submitted through the API is done by the worker.
func TestServeRolesSplit(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg CLI not installed")
	}
	dir := t.TempDir()
	base, out, _ := serveProc(t, dir, "--roles", "control")
	natsURL := regexp.MustCompile(`NATS\s+(nats://\S+)`).FindStringSubmatch(out.String())[1]
	pw := regexp.MustCompile(`first admin login: admin / (\S+)`).FindStringSubmatch(out.String())[1]
	_, wout, _ := serveProc(t, t.TempDir(), "--roles", "media", "--nats", natsURL, "--database", "sqlite:"+filepath.Join(dir, "witness.db"))
	if strings.Contains(wout.String(), "API") {
		t.Fatalf("media role serves the API:\n%s", wout)
	}
	_, res := call(t, "POST", base+"/api/v1/auth/login", "", `{"username":"admin","password":"`+pw+`"}`)
	tok := res["token"].(string)
	call(t, "POST", base+"/api/v1/me/password", tok, `{"old":"`+pw+`","new":"a-new-admin-pass-2026"}`)
	call(t, "PUT", base+"/api/v1/tenants/province/queues", tok, `{"queues":[{"name":"q"}],"routes":[{"queue":"q"}]}`)
	code, res := call(t, "POST", base+"/api/v1/queue/join", "", `{"tenant_id":"province","customer_id":"c1","channel":"pc","business":"open"}`)
	if code != 201 {
		t.Fatalf("join: %d %v", code, res)
	}
	rec := res["ticket"].(map[string]any)["id"].(string)
	// The call flow is on the bus for processes of other roles.
	nc, err := nats.Connect(natsURL)
	must(t, err)
	defer nc.Close()
	evs, err := nc.SubscribeSync("witness.console.province.>")
	must(t, err)
	must(t, nc.Flush())
	call(t, "POST", base+"/api/v1/queue/join", "", `{"tenant_id":"province","customer_id":"c2","channel":"app","business":"open"}`)
	msg, err := evs.NextMsg(20 * time.Second)
	if err != nil || msg.Subject != "witness.console.province.ticket.joined" || !strings.Contains(string(msg.Data), `"customer_id":"c2"`) {
		t.Fatalf("console event on NATS: %v %v", err, msg)
	}
	media := filepath.Join(t.TempDir(), "call.mp4")
	if b, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15:duration=2", "-f", "lavfi", "-i", "sine=duration=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", media).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, b)
	}
	code, res = call(t, "POST", base+"/api/v1/jobs/qc", tok, `{"record_id":"`+rec+`","path":"`+media+`"}`)
	if code != 202 {
		t.Fatalf("submit qc: %d %v", code, res)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, res = call(t, "GET", base+"/api/v1/jobs?subject="+rec, tok, "")
		if js, _ := res["jobs"].([]any); len(js) == 1 {
			j := js[0].(map[string]any)
			r := j["result"].(map[string]any)
			if j["status"] != "done" || r["verdict"] == "" || len(r["sha256"].(string)) != 64 {
				t.Fatalf("job result %v", j)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no QC result from the media worker:\n%s", wout)
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, res = call(t, "GET", base+"/api/v1/records/"+rec, tok, "")
	if res["qc_verdict"] == "" {
		t.Fatalf("record has no QC verdict: %v", res)
	}
}

// TestServePostgres runs the same binary against a real PostgreSQL server
// started by the test.
func TestServePostgres(t *testing.T) {
	pg, err := pgtest.Start()
	if errors.Is(err, pgtest.ErrUnavailable) {
		t.Skipf("PostgreSQL test skipped: %v", err)
	}
	must(t, err)
	defer pg.Stop()
	dsn, err := pg.NewDatabase()
	must(t, err)
	base, out, _ := serveProc(t, t.TempDir(), "--database", dsn)
	if !strings.Contains(out.String(), "database postgres") {
		t.Fatalf("not on PostgreSQL:\n%s", out)
	}
	pw := regexp.MustCompile(`first admin login: admin / (\S+)`).FindStringSubmatch(out.String())[1]
	_, res := call(t, "POST", base+"/api/v1/auth/login", "", `{"username":"admin","password":"`+pw+`"}`)
	tok := res["token"].(string)
	call(t, "POST", base+"/api/v1/me/password", tok, `{"old":"`+pw+`","new":"a-new-admin-pass-2026"}`)
	if code, res := call(t, "PUT", base+"/api/v1/tenants/province/queues", tok, `{"queues":[{"name":"q"}],"routes":[{"queue":"q"}]}`); code != 200 {
		t.Fatalf("queues: %d %v", code, res)
	}
	if code, res := call(t, "POST", base+"/api/v1/queue/join", "", `{"tenant_id":"province","customer_id":"c1","channel":"app","business":"open"}`); code != 201 {
		t.Fatalf("join: %d %v", code, res)
	}
	vout, err := exec.Command(witnessBinary(t), "audit", "verify", "--database", dsn).CombinedOutput()
	if err != nil || !strings.Contains(string(vout), "audit chain ok") {
		t.Fatalf("audit verify on PostgreSQL: %v %s", err, vout)
	}
}
