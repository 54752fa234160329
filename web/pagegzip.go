package web

import (
	"bytes"
	"compress/gzip"
	"net/http"
)

// pageBody is the body to send of a rendered page: gzipped for a client
// that accepts it (a dashboard's markup, with its accessibility text, is
// several KB and compresses to about a third, which keeps a dashboard's
// first load within its budget of 250 KB), as it is otherwise. It sets the
// headers that go with the choice. A page holds no secret (?token= stays
// in the URL, which the client reads), so compression reveals nothing.
func pageBody(h http.Header, r *http.Request, page []byte) []byte {
	h.Add("Vary", "Accept-Encoding")
	if len(page) < 1024 || !acceptsGzip(r.Header.Values("Accept-Encoding")) {
		return page
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(page)
	zw.Close()
	if buf.Len() >= len(page) {
		return page
	}
	h.Set("Content-Encoding", "gzip")
	return buf.Bytes()
}
