package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	web "github.com/witness-media/witness/console/web"
)

// scriptRun is what every e2e script prints as its last stdout line
// (embedded in each script's own result type).
type scriptRun struct {
	OK          bool     `json:"ok"`
	Steps       []string `json:"steps"`
	Errors      []string `json:"errors"`
	Screenshots []string `json:"screenshots"`
}

func (r *scriptRun) base() *scriptRun { return r }

// needBrowser skips a browser test, saying why, when Chromium, the npm
// packages or the console build are missing.
func needBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Skip("no /usr/bin/chromium (deploy/setup.sh installs it)")
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		t.Skip("console/web/node_modules absent: run deploy/setup.sh (npm ci)")
	}
	if !web.Built() {
		t.Skip("console/web/dist not built: run deploy/setup.sh (npm run build), then re-run")
	}
}

// getJSON GETs an API path with a bearer token and decodes the 200 body.
func getJSON(t *testing.T, base, tok, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, r.StatusCode)
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// shotDir is where screenshots go: $WITNESS_SCREENSHOTS or a new temp
// dir that is kept (outside git) for a person to look at.
func shotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WITNESS_SCREENSHOTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "witness-web-shots-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runScript runs `node e2e/<script> BASE` with env added, logs the
// browser steps, decodes the result into res, reports each browser error
// and stops the test when the script failed.
func runScript(t *testing.T, script, base string, timeout time.Duration, env []string, res interface{ base() *scriptRun }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "e2e/"+script, base)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	t.Logf("browser steps:\n%s", stderr.String())
	line := strings.TrimSpace(stdout.String())
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if err := json.Unmarshal([]byte(line), res); err != nil {
		t.Fatalf("%s output %q: %v (exit %v)", script, stdout.String(), err, runErr)
	}
	for _, e := range res.base().Errors {
		t.Errorf("browser: %s", e)
	}
	if runErr != nil || !res.base().OK {
		t.Fatalf("%s failed: %v", script, runErr)
	}
}

// checkShots: at least min screenshots, each a PNG 1366 (…-desktop.png)
// or 390 (…-phone.png) pixels wide.
func checkShots(t *testing.T, files []string, min int, dir string) {
	t.Helper()
	want := map[string]int{"desktop": 1366, "phone": 390}
	if len(files) < min {
		t.Errorf("%d screenshots, want ≥ %d", len(files), min)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Error(err)
			continue
		}
		c, err := png.DecodeConfig(fh)
		fh.Close()
		kind := strings.TrimSuffix(filepath.Base(f), ".png")
		kind = kind[strings.LastIndexByte(kind, '-')+1:]
		if err != nil || c.Width != want[kind] {
			t.Errorf("%s: width %d (%v), want %d", f, c.Width, err, want[kind])
		}
	}
	t.Logf("%d screenshots in %s", len(files), dir)
}

// jsonCell is how a report's JSON value reads in its exported workbook
// (numbers as Go writes them, without exponent or trailing zeros).
func jsonCell(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// sheetCell is cell i of row r of a sheet read with GetRows ("" past a
// short row's end: excelize drops trailing empty cells).
func sheetCell(rows [][]string, r, i int) string {
	if i < len(rows[r]) {
		return rows[r][i]
	}
	return ""
}
