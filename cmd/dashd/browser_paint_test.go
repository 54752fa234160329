package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"testing"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/dashd/dashd/charts"
	"github.com/dashd/dashd/config"
)

// textBox is one text the painter drew (view.texts()), in CSS pixels from
// the canvas's top left.
type textBox struct {
	Text                string
	X, Y, Width, Height float64
}

// textsOf returns what chart id of the page says on its canvas.
func textsOf(t *testing.T, ctx context.Context, id string) []textBox {
	t.Helper()
	return evalAwait[[]textBox](t, ctx, viewOf(id)+`.texts()`)
}

// find is the first text box reading text.
func find(t *testing.T, boxes []textBox, text string) textBox {
	t.Helper()
	for _, b := range boxes {
		if b.Text == text {
			return b
		}
	}
	t.Fatalf("no %q drawn among %d texts", text, len(boxes))
	return textBox{}
}

// colours counts the distinct colours of an image, and the share of its
// pixels that differ from its top-left one (the background).
func colours(img image.Image) (distinct int, drawn float64) {
	seen := map[[4]uint32]bool{}
	r0, g0, b0, a0 := img.At(img.Bounds().Min.X, img.Bounds().Min.Y).RGBA()
	var n, other int
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, b, a}] = true
			n++
			if r != r0 || g != g0 || b != b0 || a != a0 {
				other++
			}
		}
	}
	return len(seen), float64(other) / float64(n)
}

// TestBrowserPaintsInAWorker: on a dashboard page the charts are drawn by
// the paint worker on a canvas handed to it, and they behave as charts
// drawn in the page do: what the worker draws is on the screen, the
// pointer over a bar gets the hand cursor (ECharts' choice, sent back to
// the page), a click on a legend entry (a real mouse click on the page's
// canvas) hides that series, and a chart whose element shrinks is laid out
// again to fit.
func TestBrowserPaintsInAWorker(t *testing.T) {
	s := startServer(t, func(f *config.File) {
		f.Dashboards[0].Charts = append(f.Dashboards[0].Charts, charts.Chart{ID: "big", Title: "Big", Type: charts.Stacked})
	})
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web?theme=light")); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
	pollTrue(t, ctx, "drawn in the worker", `document.querySelector('main').getAttribute('data-paint') === 'worker'`)
	if n := eval[float64](t, ctx, `document.querySelectorAll('[data-chart] > canvas').length`); n != eval[float64](t, ctx, `document.querySelectorAll('[data-chart]').length`) {
		t.Errorf("%v canvases for the page's charts, want one each", n)
	}
	frame := `{"categories":["c0","c1","c2","c3","c4"],"series":[` +
		`{"name":"alpha","data":[500,500,500,500,500]},{"name":"beta","data":[300,300,300,300,300]},{"name":"gamma","data":[200,200,200,200,200]}]}`
	if code, res := do(t, mustRequest(t, http.MethodPut, s.url+"/api/v1/charts/big/data", frame, s.admin()...)); code != http.StatusNoContent {
		t.Fatalf("push: %d %s", code, res)
	}
	pollTrue(t, ctx, "5 categories", categoriesWhere("big", `cats.length === 5`))
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS(`[data-id="big"]`))); err != nil {
		t.Fatal(err)
	}

	// The picture is on the screen: bars, axes and legend in many colours.
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`[data-id="big"]`)))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	if n, drawn := colours(img); n < 20 || drawn < 0.05 {
		t.Errorf("the chart on the screen has %d colours and %.1f %% of its pixels off the background: not drawn", n, drawn*100)
	}

	box := eval[[]float64](t, ctx, `(function () { var r = document.querySelector('[data-id="big"]').getBoundingClientRect(); return [r.left, r.top]; })()`)
	texts := textsOf(t, ctx, "big")
	cursor := `document.querySelector('[data-id="big"] > canvas').style.cursor`

	// Above the label of category c2, level with the value-axis label 200,
	// stands its bar (alpha, 500).
	c2, at200 := find(t, texts, "c2"), find(t, texts, "200")
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0]+c2.X+c2.Width/2, box[1]+at200.Y+at200.Height/2)); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the hand over a bar", cursor+` === 'pointer'`)
	// Off the chart, the cursor is ECharts' default again.
	if err := chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0]+2, box[1]+2)); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "the default cursor off the bars", cursor+` === 'default'`)

	// The legend is the page's (issue 19): a click on it reaches the
	// chart in the worker.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.legend button[data-series="beta"]`))); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "beta hidden by a click on the legend", viewOf("big")+`.option().then(function (o) {
		var sel = o.legend[0].selected || {};
		return sel.beta === false && sel.alpha !== false;
	})`)

	// A narrower element: the worker lays the chart out again to fit.
	if c4 := find(t, texts, "c4"); c4.X+c4.Width <= 300 {
		t.Fatalf("c4 is drawn at x %v already", c4.X)
	}
	eval[bool](t, ctx, `(document.querySelector('[data-id="big"]').style.width = '300px', true)`)
	pollTrue(t, ctx, "the chart fits 300 px", viewOf("big")+`.texts().then(function (texts) {
		var c4 = texts.filter(function (t) { return t.text === 'c4'; })[0];
		return !!c4 && c4.x + c4.width <= 300;
	})`)
}

// TestBrowserPaintsInThePageWithoutOffscreenCanvas: a browser that cannot
// hand a canvas to a worker gets the charts drawn in the page, ECharts
// loaded then, and live all the same.
func TestBrowserPaintsInThePageWithoutOffscreenCanvas(t *testing.T) {
	s := startServer(t, nil)
	ctx := newBrowser(t)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `delete HTMLCanvasElement.prototype.transferControlToOffscreen;`,
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web")); err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, "live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
	pollTrue(t, ctx, "drawn in the page", `document.querySelector('main').getAttribute('data-paint') === 'page'`)
	if got := eval[string](t, ctx, `typeof window.echarts + ' ' + document.querySelectorAll('[data-chart] > canvas').length`); got != "undefined 0" {
		t.Errorf("window.echarts and canvases of the page's own: %q, want none (ECharts draws in a div of its own, and sets no global)", got)
	}
	route := "/in-page"
	if code, body := post(t, s.url+"/api/v1/ingest", "application/json",
		fmt.Sprintf(`[{"metric":"http_requests","tags":{"route":%q,"status":"200"},"value":3}]`, route)); code != 200 {
		t.Fatalf("ingest: %d %s", code, body)
	}
	waitForCategory(t, ctx, "req-by-route", route)
}

// TestBrowserPaintsInThePageWhenTheWorkerFails: a paint worker that does
// not load (its script's request fails) or cannot draw (a browser whose
// workers have no 2D canvas, played by a script that takes it away before
// the worker's own) leaves the page drawing in itself, live, with nothing
// lost of what it sent meanwhile.
func TestBrowserPaintsInThePageWhenTheWorkerFails(t *testing.T) {
	for name, answer := range map[string]func(ctx context.Context, e *fetch.EventRequestPaused) error{
		"its script fails": func(ctx context.Context, e *fetch.EventRequestPaused) error {
			_, err := chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonFailed})
			return err
		},
		"no 2D canvas in workers": func(ctx context.Context, e *fetch.EventRequestPaused) error {
			res, err := http.Get(e.Request.URL)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if err != nil {
				return err
			}
			body = append([]byte("OffscreenCanvas.prototype.getContext = function () { return null; };\n"), body...)
			_, err = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: e.RequestID, ResponseCode: 200, Body: body,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/javascript"}},
			})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, nil)
			ctx := newBrowser(t)
			if err := chromedp.Listen(ctx, func(ev any) {
				if e, ok := ev.(*fetch.EventRequestPaused); ok {
					go func() {
						if err := answer(ctx, e); err != nil {
							t.Errorf("answering %s: %v", e.Request.URL, err)
						}
					}()
				}
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/paint-worker.js*"}}}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(s.url+"/d/web")); err != nil {
				t.Fatal(err)
			}
			pollTrue(t, ctx, "live", `document.querySelector('[data-link]').getAttribute('data-state') === 'live'`)
			pollTrue(t, ctx, "drawn in the page", `document.querySelector('main').getAttribute('data-paint') === 'page'`)
			route := "/after-the-worker-failed"
			if code, body := post(t, s.url+"/api/v1/ingest", "application/json",
				fmt.Sprintf(`[{"metric":"http_requests","tags":{"route":%q,"status":"200"},"value":3}]`, route)); code != 200 {
				t.Fatalf("ingest: %d %s", code, body)
			}
			waitForCategory(t, ctx, "req-by-route", route)
			if got := eval[string](t, ctx, `document.querySelector('main').getAttribute('data-error') || ''`); got != "" {
				t.Errorf("the page says %q", got)
			}
		})
	}
}
