package qc

import (
	"encoding/base64"
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/witness-media/witness/pipeline"
)

// Families in timeline order, one lane each.
var families = []string{"integrity", "param", "video", "audio", "sync", "watermark"}

var severityColor = map[pipeline.Severity]string{
	pipeline.SeverityInfo:     "#6b7b8c",
	pipeline.SeverityWarning:  "#d89614",
	pipeline.SeverityCritical: "#c8312b",
}

var verdictColor = map[Verdict]string{Pass: "#2e8b57", Warn: "#d89614", Fail: "#c8312b"}

// htmlFinding is a finding prepared for the page.
type htmlFinding struct {
	N         int
	F         *Finding
	Color     string
	Thumbnail template.URL // data: URI, "" without one
}

type htmlPage struct {
	R        *Report
	Name     string
	Color    string
	Findings []htmlFinding
	Timeline template.HTML
	Loudness template.HTML
	Streams  []string
	Decode   string
}

// WriteHTML renders the report as one self-contained HTML page: inline CSS
// and SVG, thumbnails as data: URIs, no scripts and no external assets, so
// it can be archived next to the recording and opened anywhere.
func (r *Report) WriteHTML(w io.Writer) error {
	p := htmlPage{R: r, Name: filepath.Base(r.File), Color: verdictColor[r.Verdict]}
	for i := range r.Findings {
		f := &r.Findings[i]
		hf := htmlFinding{N: i + 1, F: f, Color: severityColor[f.Severity]}
		if isPNGData(f.Thumbnail) {
			// Our own PNG bytes, base64: safe to mark as a URL.
			hf.Thumbnail = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(f.Thumbnail))
		}
		p.Findings = append(p.Findings, hf)
	}
	p.Timeline = template.HTML(timelineSVG(r))
	p.Loudness = template.HTML(loudnessSVG(r))
	if r.Probe != nil {
		for i := range r.Probe.Streams {
			p.Streams = append(p.Streams, r.Probe.Streams[i].Summary())
		}
	}
	if r.Decode != nil {
		p.Decode = r.Decode.Summary()
	}
	return pageTemplate.Execute(w, p)
}

func isPNGData(b []byte) bool { return len(b) > 8 && string(b[1:4]) == "PNG" }

// svgWidth and the margins of both charts, in SVG user units.
const (
	svgWidth   = 960.0
	svgLeft    = 80.0
	svgRight   = 16.0
	laneHeight = 22.0
)

func timeScale(r *Report) (float64, func(time.Duration) float64) {
	total := r.Duration.Seconds()
	for i := range r.Findings {
		total = max(total, r.Findings[i].End.Seconds())
	}
	if total <= 0 {
		total = 1
	}
	plot := svgWidth - svgLeft - svgRight
	return total, func(d time.Duration) float64 { return svgLeft + d.Seconds()/total*plot }
}

// timelineSVG draws one lane per check family with a bar per finding.
func timelineSVG(r *Report) string {
	total, x := timeScale(r)
	h := laneHeight*float64(len(families)) + 28
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="timeline of findings">`, svgWidth, h)
	for i, fam := range families {
		y := float64(i) * laneHeight
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="%s"/>`, svgLeft, y+2, svgWidth-svgLeft-svgRight,
			laneHeight-4, []string{"#f3f5f7", "#e9edf1"}[i%2])
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="lane">%s</text>`, svgLeft-6, y+laneHeight/2+4, fam)
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		lane := 0
		for j, fam := range families {
			if fam == f.Family() {
				lane = j
			}
		}
		x0, x1 := x(f.Start), x(f.End)
		w := max(x1-x0, 3) // an instant still shows
		fmt.Fprintf(&b, `<a href="#f%d"><rect x="%.1f" y="%g" width="%.1f" height="%g" fill="%s" opacity="0.85"><title>%s</title></rect></a>`,
			i+1, x0, float64(lane)*laneHeight+4, w, laneHeight-8, severityColor[f.Severity], html.EscapeString(f.String()))
	}
	axis(&b, total, x, laneHeight*float64(len(families)))
	b.WriteString(`</svg>`)
	return b.String()
}

// axis draws time ticks at a round step under y.
func axis(b *strings.Builder, total float64, x func(time.Duration) float64, y float64) {
	step := 1.0
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		step = s
		if total/s <= 12 {
			break
		}
	}
	for t := 0.0; t <= total+1e-9; t += step {
		px := x(time.Duration(t * float64(time.Second)))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#888"/>`, px, y, px, y+5)
		fmt.Fprintf(b, `<text x="%.1f" y="%g" class="tick">%s</text>`, px, y+18, clockTime(t))
	}
}

func clockTime(sec float64) string {
	s := int(math.Round(sec))
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// loudnessSVG draws the short-term loudness curve with the policy floor.
func loudnessSVG(r *Report) string {
	if len(r.Loudness) == 0 {
		return ""
	}
	total, x := timeScale(r)
	const top, bottom, hPlot = 0.0, -70.0, 160.0
	y := func(l float64) float64 {
		l = min(max(l, bottom), top)
		return 6 + (top-l)/(top-bottom)*hPlot
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="loudness curve">`, svgWidth, hPlot+34)
	for _, l := range []float64{0, -10, -20, -30, -40, -50, -60, -70} {
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#e3e6ea"/>`, svgLeft, y(l), svgWidth-svgRight, y(l))
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" class="lane">%g LUFS</text>`, svgLeft-6, y(l)+4, l)
	}
	// Decimate very long curves: a point per pixel is enough.
	pts := r.Loudness
	stride := max(1, len(pts)/int(svgWidth))
	var line strings.Builder
	for i := 0; i < len(pts); i += stride {
		fmt.Fprintf(&line, "%.1f,%.1f ", x(pts[i].T), y(pts[i].LUFS))
	}
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#2b6cb0" stroke-width="1.5" points="%s"/>`, strings.TrimSpace(line.String()))
	axis(&b, total, x, hPlot+8)
	b.WriteString(`</svg>`)
	return b.String()
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

var pageTemplate = template.Must(template.New("qc").Funcs(template.FuncMap{
	"seconds": seconds,
	"upper":   strings.ToUpper,
	"num":     func(v float64) string { return fmt.Sprintf("%.4g", v) },
	"mb":      func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) },
	"rfc3339": func(t time.Time) string { return t.Format(time.RFC3339) },
	"ms":      func(d time.Duration) string { return d.Round(time.Millisecond).String() },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>QC {{upper (print .R.Verdict)}}: {{.Name}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2733;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600;margin-right:8px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e3e6ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7}.meta td:first-child{color:#5b6875;width:160px}code{font:12px ui-monospace,monospace;word-break:break-all}
.sev{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
.chart{width:100%;max-width:960px;height:auto;display:block}.lane{font-size:11px;text-anchor:end;fill:#5b6875}
.tick{font-size:10px;text-anchor:middle;fill:#5b6875}img{image-rendering:pixelated;border:1px solid #ccd}
pre{background:#f6f8fa;padding:8px;font-size:12px;overflow-x:auto}.none{color:#2e8b57}
</style></head><body>
<h1><span class="verdict" style="background:{{.Color}}">{{upper (print .R.Verdict)}}</span>{{.Name}}</h1>
<table class="meta">
<tr><td>file</td><td><code>{{.R.File}}</code></td></tr>
<tr><td>sha256</td><td><code>{{.R.SHA256}}</code></td></tr>
<tr><td>size</td><td>{{mb .R.Size}} ({{.R.Size}} bytes)</td></tr>
<tr><td>media checked</td><td>{{seconds .R.Duration}}</td></tr>
<tr><td>policy</td><td>{{.R.Policy}}</td></tr>
<tr><td>checked at</td><td>{{rfc3339 .R.CheckedAt}} in {{ms .R.Elapsed}}</td></tr>
<tr><td>A/V sync</td><td>{{with .R.Metrics.Sync}}{{if .Measured}}sound {{.OffsetMS}} ms relative to picture ({{.Matches}} matched changes, confidence {{.Confidence}}){{else}}not measured: {{.Note}}{{end}}{{end}}</td></tr>
<tr><td>loudness</td><td>integrated {{.R.Metrics.IntegratedLUFS}} LUFS, sample peak {{num .R.Metrics.PeakDBFS}} dBFS</td></tr>
</table>
<h2>Timeline</h2>
{{.Timeline}}
{{if .Loudness}}<h2>Loudness (short-term, 3 s)</h2>
{{.Loudness}}{{end}}
<h2>Findings</h2>
{{if .Findings}}<table><tr><th>#</th><th>kind</th><th>time</th><th>measured</th><th>threshold</th><th>what</th><th>picture</th></tr>
{{range .Findings}}<tr id="f{{.N}}"><td>{{.N}}</td><td><span class="sev" style="background:{{.Color}}"></span>{{.F.Kind}}<br><small>{{.F.Severity}}</small></td>
<td>{{seconds .F.Start}} – {{seconds .F.End}}</td><td>{{num .F.Value}} {{.F.Unit}}</td><td>{{num .F.Threshold}}</td><td>{{.F.Message}}</td>
<td>{{if .Thumbnail}}<img src="{{.Thumbnail}}" width="160" alt="picture at {{seconds .F.Start}}">{{end}}</td></tr>
{{end}}</table>{{if .R.Dropped}}<p>{{.R.Dropped}} more findings not listed.</p>{{end}}
{{else}}<p class="none">No findings.</p>{{end}}
<h2>Streams</h2>
<pre>{{range .Streams}}{{.}}
{{end}}</pre>
{{if .Decode}}<h2>Decode</h2>
<pre>{{.Decode}}</pre>{{end}}
</body></html>
`))
