package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dashd/dashd/config"
)

// rewound is a frame of a past moment: a frame with "at" and "through".
type rewound struct {
	frame
	Time    time.Time `json:"time"`
	At      time.Time `json:"at"`
	Through *uint64   `json:"through"`
}

func getAt(t *testing.T, s *server, path string, at string, header ...string) (int, string) {
	t.Helper()
	return do(t, mustRequest(t, http.MethodGet, s.url+path+"?at="+url.QueryEscape(at), "", header...))
}

func frameAt(t *testing.T, s *server, chart string, at time.Time) rewound {
	t.Helper()
	code, body := getAt(t, s, "/api/v1/charts/"+chart+"/frame", at.UTC().Format(time.RFC3339Nano))
	if code != http.StatusOK {
		t.Fatalf("GET frame of %s at %s: %d %s", chart, at, code, body)
	}
	var f rewound
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("frame: %v: %s", err, body)
	}
	if !f.At.Equal(at) || !f.Time.Equal(at) || f.Through == nil {
		t.Fatalf("a rewound frame without its moment and position: %s", body)
	}
	return f
}

func ingestJSON(t *testing.T, s *server, body string) {
	t.Helper()
	if code, resp := post(t, s.url+"/api/v1/ingest", "application/json", body); code != http.StatusOK {
		t.Fatalf("ingest: %d %s", code, resp)
	}
}

// between returns a moment after everything stored so far and before
// anything stored next.
func between() time.Time {
	time.Sleep(5 * time.Millisecond)
	at := time.Now()
	time.Sleep(5 * time.Millisecond)
	return at
}

// TestFrameAtAMoment: ?at=T answers the frame of T, computed from the log,
// whatever came after; the live frame is unchanged and carries no "at".
func TestFrameAtAMoment(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2}]`)
	t1 := between()
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":3},{"metric":"http_requests","tags":{"route":"/b","status":"500"},"value":1}]`)
	t2 := between()

	f1 := frameAt(t, s, "req-by-route", t1)
	if x := f1.value("/a", "200"); x == nil || *x != 2 || len(f1.Categories) != 1 {
		t.Errorf("at t1: %+v, want /a 200 = 2 alone", f1.frame)
	}
	f2 := frameAt(t, s, "req-by-route", t2)
	if x := f2.value("/a", "200"); x == nil || *x != 5 || len(f2.Categories) != 2 {
		t.Errorf("at t2: %+v, want /a 200 = 5 and /b", f2.frame)
	}
	if *f2.Through <= *f1.Through {
		t.Errorf("through %d at t2, %d at t1: want it to rise", *f2.Through, *f1.Through)
	}
	// The same moment as a Unix number in ms: the same frame.
	code, body := getAt(t, s, "/api/v1/charts/req-by-route/frame", strconv.FormatInt(t1.UnixMilli(), 10))
	if code != http.StatusOK || !strings.Contains(body, `"categories":["/a"]`) {
		t.Errorf("at t1 in Unix ms: %d %s", code, body)
	}
	// The option of a moment carries its data.
	code, body = getAt(t, s, "/api/v1/charts/req-by-route/option", t1.Format(time.RFC3339Nano))
	if code != http.StatusOK || !strings.Contains(body, `"/a"`) || strings.Contains(body, `"/b"`) {
		t.Errorf("option at t1: %d %s", code, body)
	}
	// The time axis at t2 has its bucket of t1's sample.
	ft := frameAt(t, s, "req-over-time", t2)
	if len(ft.Categories) != 30 || len(ft.Series) != 1 {
		t.Errorf("time axis at t2: %+v", ft.frame)
	}
	// Live frames are as they were.
	code, body = do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/charts/req-by-route/frame", ""))
	if code != http.StatusOK || strings.Contains(body, `"at"`) || strings.Contains(body, `"through"`) {
		t.Errorf("the live frame: %d %s", code, body)
	}
	// A push chart's data is not in the log: its current data, no "at".
	code, body = getAt(t, s, "/api/v1/charts/sales/frame", t1.Format(time.RFC3339Nano))
	if code != http.StatusOK || strings.Contains(body, `"at"`) {
		t.Errorf("a push chart at t1: %d %s", code, body)
	}
	// The log's bounds.
	code, body = do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/log", ""))
	var bounds struct {
		First  *time.Time `json:"first"`
		Last   time.Time  `json:"last"`
		Rewind bool       `json:"rewind"`
	}
	if err := json.Unmarshal([]byte(body), &bounds); code != http.StatusOK || err != nil || bounds.First == nil ||
		bounds.First.After(t1) || bounds.Last.Before(t2) || !bounds.Rewind {
		t.Errorf("GET /api/v1/log: %d %s", code, body)
	}
}

// TestMomentRefusals: a moment that cannot be read, lies in the future or
// before the retained log is a 400 in the one error body that names the
// range the log can show.
func TestMomentRefusals(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	code, body := getAt(t, s, "/api/v1/charts/req-by-route/frame", time.Now().Add(-time.Second).Format(time.RFC3339))
	if code != http.StatusBadRequest || !strings.Contains(errorOf(t, body), "the log holds nothing yet") {
		t.Errorf("an empty log: %d %s", code, body)
	}
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2}]`)
	var bounds struct {
		First time.Time `json:"first"`
	}
	_, body = do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/log", ""))
	if err := json.Unmarshal([]byte(body), &bounds); err != nil {
		t.Fatal(err)
	}
	first := bounds.First.UTC().Format(time.RFC3339Nano)
	tests := map[string]string{
		"not a time":          "yesterday",
		"a date alone":        "2026-12-03",
		"empty":               "",
		"in the future":       time.Now().Add(time.Hour).Format(time.RFC3339),
		"before the log":      bounds.First.Add(-time.Second).Format(time.RFC3339Nano),
		"the Unix epoch":      "0",
		"a Unix number ahead": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
	}
	for name, at := range tests {
		for _, path := range []string{"/api/v1/charts/req-by-route/frame", "/api/v1/charts/req-by-route/option"} {
			code, body := getAt(t, s, path, at)
			if code != http.StatusBadRequest {
				t.Errorf("%s at %q: %d %s, want 400", name, at, code, body)
				continue
			}
			if msg := errorOf(t, body); !strings.Contains(msg, first) {
				t.Errorf("%s at %q: %q does not name the retained range (from %s)", name, at, msg, first)
			}
			if !strings.Contains(body, `"reason":"bad_moment"`) {
				t.Errorf("%s: %s has no reason bad_moment", name, body)
			}
		}
	}
	// An unknown chart stays a 404, with or without a moment.
	if code, body := getAt(t, s, "/api/v1/charts/nope/frame", bounds.First.Format(time.RFC3339Nano)); code != http.StatusNotFound {
		t.Errorf("an unknown chart at a moment: %d %s", code, body)
	}
}

// TestRewindAndEmbedTokens: with auth.read: token, rewind obeys the token's
// scope, and a token may forbid rewinding or bound how far back it reads.
func TestRewindAndEmbedTokens(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(f *config.File) {
		f.Auth.Read = config.ReadToken
		f.Auth.AdminTokens = []string{"adm1n"}
		f.Auth.EmbedSecret = testEmbedSecret
	})
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2}]`)
	t1 := between()
	mint := func(body string) string {
		t.Helper()
		code, resp := post(t, s.url+"/api/v1/embed-tokens", "application/json", body, "Authorization", "Bearer adm1n")
		if code != http.StatusCreated {
			t.Fatalf("mint %s: %d %s", body, code, resp)
		}
		var m struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal([]byte(resp), &m)
		return m.Token
	}
	for _, bad := range []string{`"soon"`, `"-1h"`, `"0s"`, `true`} {
		code, resp := post(t, s.url+"/api/v1/embed-tokens", "application/json", `{"dashboard":"web","rewind":`+bad+`}`, "Authorization", "Bearer adm1n")
		if code != http.StatusBadRequest || !strings.Contains(resp, "rewind") {
			t.Errorf("minting with rewind %s: %d %s, want 400 naming rewind", bad, code, resp)
		}
	}
	anyTok := mint(`{"dashboard":"web"}`)
	liveTok := mint(`{"dashboard":"web","rewind":"off"}`)
	nearTok := mint(`{"chart":"req-by-route","rewind":"1s"}`)
	time.Sleep(1100 * time.Millisecond) // t1 is now more than 1s back
	at := t1.Format(time.RFC3339Nano)
	frame := "/api/v1/charts/req-by-route/frame"
	tests := map[string]struct {
		path, token string
		want        int
		reason      string
	}{
		"no token":                        {frame, "", 401, "missing"},
		"a dashboard token rewinds":       {frame, anyTok, 200, ""},
		"a live-only token":               {frame, liveTok, 403, "rewind_forbidden"},
		"a token bounded to 1s":           {frame, nearTok, 403, "rewind_forbidden"},
		"the admin token":                 {frame, "adm1n", 200, ""},
		"another chart than the token's":  {"/api/v1/charts/req-over-time/frame", nearTok, 401, "wrong scope"},
		"a live-only token's option":      {"/api/v1/charts/req-by-route/option", liveTok, 403, "rewind_forbidden"},
		"a dashboard token's option":      {"/api/v1/charts/req-by-route/option", anyTok, 200, ""},
		"a live-only token, live is fine": {frame + "-live", liveTok, 200, ""},
	}
	for name, tc := range tests {
		var code int
		var body string
		if p, live := strings.CutSuffix(tc.path, "-live"); live {
			code, body = do(t, mustRequest(t, http.MethodGet, s.url+p+"?token="+tc.token, ""))
		} else {
			code, body = do(t, mustRequest(t, http.MethodGet, s.url+tc.path+"?at="+url.QueryEscape(at)+"&token="+url.QueryEscape(tc.token), ""))
		}
		if code != tc.want || (tc.reason != "" && !strings.Contains(body, `"reason":"`+tc.reason+`"`)) {
			t.Errorf("%s: %d %s, want %d %s", name, code, body, tc.want, tc.reason)
		}
	}
	// A bounded token still reads the moments it reaches.
	code, body := do(t, mustRequest(t, http.MethodGet, s.url+frame+"?at="+url.QueryEscape(time.Now().Add(-100*time.Millisecond).Format(time.RFC3339Nano))+"&token="+nearTok, ""))
	if code != http.StatusOK {
		t.Errorf("a bounded token within its reach: %d %s", code, body)
	}
	// The log's bounds, as each token sees them.
	for name, tc := range map[string]struct {
		token  string
		rewind bool
		within time.Duration // first no further back than this
	}{
		"live only": {liveTok, false, time.Second},
		"1s back":   {nearTok, true, 2 * time.Second},
	} {
		code, body := do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/log?token="+tc.token, ""))
		var b struct {
			First  time.Time `json:"first"`
			Rewind bool      `json:"rewind"`
		}
		if err := json.Unmarshal([]byte(body), &b); code != http.StatusOK || err != nil || b.Rewind != tc.rewind || time.Since(b.First) > tc.within {
			t.Errorf("GET /api/v1/log with the %s token: %d %s", name, code, body)
		}
	}
	// A token that names no rewind reads from the start of the log.
	code, body = do(t, mustRequest(t, http.MethodGet, s.url+"/api/v1/log?token="+anyTok, ""))
	var b struct {
		First time.Time `json:"first"`
	}
	if err := json.Unmarshal([]byte(body), &b); code != http.StatusOK || err != nil || b.First.After(t1) {
		t.Errorf("GET /api/v1/log with a token that may rewind: %d %s", code, body)
	}
}

// TestMomentSurvivesARestart: the frame of a moment is the same before and
// after a restart (computed from the log both times).
func TestMomentSurvivesARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	onDisk := func(f *config.File) { f.Data = dir }
	s, stop := startStoppable(t, onDisk)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2},{"metric":"http_requests","tags":{"route":"/b","status":"500"},"value":4}]`)
	t1 := between()
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":3}]`)
	t2 := between()
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/c","status":"200"},"value":9}]`)
	before := map[string]string{}
	for _, at := range []time.Time{t1, t2} {
		for _, id := range []string{"req-by-route", "req-over-time"} {
			before[id+at.String()] = chartData(frameAt(t, s, id, at).frame)
		}
	}
	stop()
	s, _ = startStoppable(t, onDisk)
	for _, at := range []time.Time{t1, t2} {
		for _, id := range []string{"req-by-route", "req-over-time"} {
			if got := chartData(frameAt(t, s, id, at).frame); got != before[id+at.String()] {
				t.Errorf("%s at %s after a restart: %s, before %s", id, at, got, before[id+at.String()])
			}
		}
	}
	if f := frameAt(t, s, "req-by-route", t1); len(f.Categories) != 2 {
		t.Errorf("at t1: %+v, want /a and /b", f.frame)
	}
}

// replayMsg is a message of a replay stream.
type replayMsg struct {
	rewound
	Frames []rewound `json:"frames"`
}

// TestReplayOverWebSocket: ?from=T&speed=S sends the frames as they were
// from T on, moving at S× real time, their moments rising, then
// {"type":"live"} and close 1000 "live".
func TestReplayOverWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2}]`)
	t0 := between()
	time.Sleep(700 * time.Millisecond)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/b","status":"200"},"value":5}]`)

	q := "charts=req-by-route&speed=2&from=" + url.QueryEscape(t0.Format(time.RFC3339Nano))
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?"+q, nil)
	if err != nil {
		t.Fatalf("dial: %v %v", err, resp)
	}
	defer conn.Close()
	var frames []rewound
	live := false
	for !live {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("read before live: %v (%d frames)", err, len(frames))
		}
		var m replayMsg
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatal(err)
		}
		switch m.Type {
		case "frame":
			frames = append(frames, m.rewound)
		case "batch":
			frames = append(frames, m.Frames...)
		case "live":
			live = true
		default:
			t.Fatalf("unexpected message %s", msg)
		}
	}
	_, _, err = conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || ce.Text != "live" {
		t.Errorf("after live: %v, want close 1000 live", err)
	}
	if len(frames) < 2 {
		t.Fatalf("%d frames: want the moment at T and later ones", len(frames))
	}
	if !frames[0].At.Equal(t0) || len(frames[0].Categories) != 1 {
		t.Errorf("the first frame: at %s %+v, want %s with /a alone", frames[0].At, frames[0].frame, t0)
	}
	last := frames[len(frames)-1]
	if len(last.Categories) != 2 {
		t.Errorf("the last replayed frame: %+v, want /a and /b", last.frame)
	}
	for i := 1; i < len(frames); i++ {
		if !frames[i].At.After(frames[i-1].At) || frames[i].Seq <= frames[i-1].Seq {
			t.Errorf("frame %d: at %s seq %d after at %s seq %d", i, frames[i].At, frames[i].Seq, frames[i-1].At, frames[i-1].Seq)
		}
	}
	// Each replayed frame is the frame of its moment.
	for _, f := range frames {
		if got, want := chartData(f.frame), chartData(frameAt(t, s, "req-by-route", f.At).frame); got != want {
			t.Errorf("replayed at %s: %s, the moment's frame %s", f.At, got, want)
		}
	}
	// A bad speed, a moment in the future: 400 before any upgrade.
	for _, q := range []string{"charts=req-by-route&speed=3&from=" + url.QueryEscape(t0.Format(time.RFC3339Nano)),
		"charts=req-by-route&from=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))} {
		_, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/api/v1/stream?"+q, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %v %v, want 400", q, err, resp)
		}
	}
}

// TestReplayOverSSEGoesLive: the SSE replay sends the past frames, then
// "event: live", then the live stream in the same response.
func TestReplayOverSSEGoesLive(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/a","status":"200"},"value":2}]`)
	t0 := between()
	ingestJSON(t, s, `[{"metric":"http_requests","tags":{"route":"/b","status":"200"},"value":5}]`)
	req := mustRequest(t, http.MethodGet, s.url+"/api/v1/stream/sse?charts=req-by-route&speed=60&from="+url.QueryEscape(t0.Format(time.RFC3339Nano)), "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var events []string
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			events = append(events, event+" "+d)
			if event == "frame" && !strings.Contains(d, `"at"`) {
				break // the first live frame
			}
		}
	}
	if len(events) < 3 {
		t.Fatalf("events: %q", events)
	}
	if !strings.HasPrefix(events[1], `frame {"type":"frame","chart":"req-by-route"`) || !strings.Contains(events[1], `"categories":["/a"]`) || !strings.Contains(events[1], `"at":"`) {
		t.Errorf("the first replayed frame: %s", events[1])
	}
	if events[len(events)-2] != `live {"type":"live"}` {
		t.Errorf("before the live frame: %s", events[len(events)-2])
	}
	if l := events[len(events)-1]; !strings.Contains(l, `"categories":["/a","/b"]`) {
		t.Errorf("the live frame: %s", l)
	}
}
