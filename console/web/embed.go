// Package web serves the built web console (React + Ant Design, sources
// in this directory, built by `npm run build` into dist/, which
// deploy/setup.sh runs before building witness) at the root of
// `witness serve`: the management console, the agent desk and the
// customer's H5 page. Unknown paths fall back to index.html so the
// client-side router handles them. Before the first build dist/ holds
// only a placeholder and every page says how to build it.
package web

import (
	"context"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/witness-media/witness/internal/platform"
)

//go:embed all:dist
var dist embed.FS

// Built reports whether dist holds a built console (not the placeholder).
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

const placeholder = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>Witness</title></head>
<body><h1>Witness</h1><p>网页控制台尚未构建：请运行 <code>deploy/setup.sh</code>（或在 console/web 中运行 <code>npm ci &amp;&amp; npm run build</code>）后重新构建 witness。</p>
<p>The web console is not built: run <code>deploy/setup.sh</code> (or <code>npm ci &amp;&amp; npm run build</code> in console/web), then rebuild witness.</p>
<p>API: <a href="/openapi.json">/openapi.json</a></p></body></html>`

// Handler serves the embedded build with the SPA fallback.
func Handler() http.Handler {
	sub, _ := fs.Sub(dist, "dist")
	files := http.FileServerFS(sub)
	built := Built()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !built {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(placeholder))
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if st, err := fs.Stat(sub, name); name != "" && err == nil && !st.IsDir() {
			if strings.HasPrefix(name, "assets/") {
				// Vite names assets by content hash.
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			}
			files.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(name, "assets/") {
			http.NotFound(w, r) // a missing asset is an error, not a page
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, sub, "index.html")
	})
}

var once sync.Once

// Register mounts the console at "/" of `witness serve` (control role).
func Register() {
	once.Do(func() {
		platform.RegisterMount(platform.Mount{Name: "web", Prefix: "/", Role: platform.RoleControl,
			Build: func(context.Context, *platform.Platform) (http.Handler, func(context.Context) error, func(), error) {
				return Handler(), nil, nil, nil
			}})
	})
}
