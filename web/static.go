package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
	"github.com/tdewolff/minify/v2/js"
)

// asset is one static file, read once from the embedded tree.
type asset struct {
	body  []byte
	gz    []byte // the gzip encoding of body, or nil where it does not pay
	ctype string
	// version is a short hash of body: URLs carry it as ?v= so that a
	// cached copy is never used after the file changes.
	version string
	etag    string
}

// assets maps a name under static/ ("dashd.js") to its file.
type assets map[string]*asset

// loadAssets reads every file of fsys. A file "x.gz" beside "x" is taken as
// x's precompressed encoding (the ECharts bundle: built by web/build) and is
// not served by its own name; other compressible files are compressed here.
func loadAssets(fsys fs.FS) (assets, error) {
	out := assets{}
	gzs := map[string][]byte{}
	m := minify.New()
	m.AddFunc("text/javascript", js.Minify)
	m.AddFunc("text/css", css.Minify)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if base, ok := strings.CutSuffix(name, ".gz"); ok {
			gzs[base] = b
			return nil
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = http.DetectContentType(b)
		}
		if !strings.HasSuffix(name, ".min.js") { // a bundle is minified already
			if b, err = minified(m, ctype, b); err != nil {
				return fmt.Errorf("static/%s: %w", name, err)
			}
		}
		sum := sha256.Sum256(b)
		out[name] = &asset{
			body:    b,
			ctype:   ctype,
			version: hex.EncodeToString(sum[:6]),
			etag:    `"` + hex.EncodeToString(sum[:12]) + `"`,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for name, a := range out {
		if gz, ok := gzs[name]; ok {
			a.gz = gz
			continue
		}
		if compressible(a.ctype) && len(a.body) > 512 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(a.body)
			zw.Close()
			if buf.Len() < len(a.body) {
				a.gz = buf.Bytes()
			}
		}
	}
	for base := range gzs {
		if out[base] == nil {
			return nil, fmt.Errorf("static/%s.gz has no static/%s beside it", base, base)
		}
	}
	return out, nil
}

// minified is b, a script or a style sheet, without its comments and
// spaces (the sources are written for their readers: about half of them
// is comments), or b itself for any other type. A dashboard's scripts
// then fit, with the ECharts bundle, in its first-load budget of 250 KB.
// The minifier is tdewolff/minify: it keeps the meaning of ES2020.
func minified(m *minify.M, ctype string, b []byte) ([]byte, error) {
	mediatype, _, _ := strings.Cut(ctype, ";")
	switch mediatype {
	case "text/javascript", "application/javascript":
		return m.Bytes("text/javascript", b)
	case "text/css":
		return m.Bytes("text/css", b)
	}
	return b, nil
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg")
}

// url is the versioned address of the asset name, for templates; a name
// that is not embedded fails the page (and the tests).
func (as assets) url(name string) (string, error) {
	a := as[name]
	if a == nil {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + name + "?v=" + a.version, nil
}

// serve answers GET /static/{path...}. A request that names the current
// version (?v=) may be cached for a year; any other is revalidated by ETag.
func (as assets) serve(w http.ResponseWriter, r *http.Request) {
	a := as[r.PathValue("path")]
	if a == nil {
		http.Error(w, "404 not found: no such static file", http.StatusNotFound)
		return
	}
	serveAsset(w, r, a)
}

// embedScript composes /embed.js: dashd-format.js, dashd-delta.js,
// dashd-core.js, dashd-paint.js and embed-element.js in one function scope, with the versioned paths of the
// ECharts bundle (ECHARTS_PATH), of the paint worker (PAINT_WORKER_PATH)
// and of what it imports (PAINT_IMPORTS). Its URL is fixed (host pages
// name it), so it is revalidated, never cached for long.
func embedScript(as assets) (*asset, error) {
	echarts, err := as.url("echarts.min.js")
	if err != nil {
		return nil, err
	}
	worker, err := as.url(paintWorker)
	if err != nil {
		return nil, err
	}
	imports, err := as.paintWorkerImports()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("/*! dashd embed.js: defines <dashd-chart>; see /static/embed-element.js */\n(function () {\n'use strict';\n")
	for _, v := range []struct {
		name  string
		value any
	}{{"ECHARTS_PATH", echarts}, {"PAINT_WORKER_PATH", worker}, {"PAINT_IMPORTS", imports}} {
		js, _ := json.Marshal(v.value) // JSON strings and arrays are JavaScript
		fmt.Fprintf(&b, "var %s = %s;\n", v.name, js)
	}
	for _, name := range []string{"dashd-format.js", "dashd-delta.js", "dashd-core.js", "dashd-paint.js", "embed-element.js"} {
		a := as[name]
		if a == nil {
			return nil, fmt.Errorf("static/%s is missing", name)
		}
		b.Write(a.body)
		b.WriteString("\n")
	}
	b.WriteString("})();\n")
	return newAsset(b.Bytes(), "text/javascript; charset=utf-8"), nil
}

// paintWorker is the name under /static/ of the script that runs
// dashd-paint.js's painter in a worker.
const paintWorker = "paint-worker.js"

// paintWorkerScript composes static/paint-worker.js: it imports the
// ECharts bundle, dashd-core.js and dashd-paint.js by their versioned
// paths, so that a worker never mixes versions, and starts the painter.
// Imported rather than inlined: the page has fetched the last two already
// (the worker gets them from the browser's cache), and the bundle keeps its
// precompressed encoding (gzip -9, smaller than what Go's gzip makes).
func paintWorkerScript(as assets) (*asset, error) {
	urls, err := as.paintWorkerImports()
	if err != nil {
		return nil, err
	}
	var quoted []string
	for _, u := range urls {
		q, _ := json.Marshal(u) // a JSON string is a JavaScript string
		quoted = append(quoted, string(q))
	}
	body := "/*! dashd paint worker: draws dashd's charts off the page's main thread; see /static/dashd-paint.js */\n" +
		"importScripts(" + strings.Join(quoted, ", ") + ");\n" +
		"dashdPaint.serve(self);\n"
	return newAsset([]byte(body), "text/javascript; charset=utf-8"), nil
}

// paintWorkerImports are the versioned paths of what the paint worker
// runs, in order: ECharts, dashd-format.js, dashd-core.js, dashd-paint.js.
func (as assets) paintWorkerImports() ([]string, error) {
	var urls []string
	for _, name := range []string{"echarts.min.js", "dashd-format.js", "dashd-core.js", "dashd-paint.js"} {
		url, err := as.url(name)
		if err != nil {
			return nil, err
		}
		urls = append(urls, url)
	}
	return urls, nil
}

// newAsset is a generated file, compressed where it pays.
func newAsset(body []byte, ctype string) *asset {
	sum := sha256.Sum256(body)
	a := &asset{body: body, ctype: ctype, version: hex.EncodeToString(sum[:6]), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	if buf.Len() < len(body) {
		a.gz = buf.Bytes()
	}
	return a
}

// serveAsset answers a GET of a. A request that names its version (?v=)
// may be cached for a year; any other is revalidated by ETag.
func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body, etag := a.body, a.etag
	if a.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			body, etag = a.gz, a.etag[:len(a.etag)-1]+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reports whether Accept-Encoding values admit gzip: named
// (or "*") with a q above zero, and not refused by name.
func acceptsGzip(values []string) bool {
	star := false
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			ok := true
			for p := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "q") {
					q, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					ok = err == nil && q > 0
				}
			}
			if coding == "*" {
				star = ok
				continue
			}
			return ok
		}
	}
	return star
}

// etagMatch reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatch(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
