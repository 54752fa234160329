package main

import (
	"bytes"
	"strconv"
)

// probeCategory is the category whose value carries the push sequence
// number. It sorts before the data categories ("c000"…), though the
// scanner does not rely on that.
const probeCategory = "0probe"

// chartPrefix starts the id of every chart dashload defines: dashload-0,
// dashload-1, …
const chartPrefix = "dashload-"

// The keys the scanner looks for.
const (
	frameStart    = `{"type":"frame"`
	chartKey      = `"chart":"` + chartPrefix
	categoriesKey = `"categories":[`
	dataKey       = `"data":[`
)

// frameInfo is what the load tool needs of one frame.
type frameInfo struct {
	chart int    // n of chart "dashload-n"; -1 if another chart
	probe uint64 // the probe value; valid when hasProbe
	// hasProbe reports whether the frame has the probe category with a value.
	hasProbe bool
}

// scanMessage calls fn for every frame of one stream message (a frame, or
// a batch {"type":"batch","frames":[…]}) and returns how many it found.
// It reads the wire format of CONTRACT.md without decoding it in full: it
// finds each frame by its leading {"type":"frame", the chart id, the index
// of the probe category, and the first non-null value at that index among
// the series. Keys must come in the order dashd writes them (type, chart,
// …, categories, series); a frame that does not parse counts, with no probe.
func scanMessage(msg []byte, fn func(frameInfo)) int {
	n := 0
	i := bytes.Index(msg, []byte(frameStart))
	for i >= 0 {
		rest := msg[i+len(frameStart):]
		next := bytes.Index(rest, []byte(frameStart))
		seg := rest
		if next >= 0 {
			seg = rest[:next]
		}
		n++
		if fn != nil {
			fn(scanFrame(seg))
		}
		if next < 0 {
			break
		}
		i += len(frameStart) + next
	}
	return n
}

// scanFrame reads one frame's text after its {"type":"frame".
func scanFrame(seg []byte) frameInfo {
	fi := frameInfo{chart: -1}
	if k := bytes.Index(seg, []byte(chartKey)); k >= 0 {
		p := seg[k+len(chartKey):]
		end := bytes.IndexByte(p, '"')
		if end > 0 {
			if v, err := strconv.Atoi(string(p[:end])); err == nil {
				fi.chart = v
			}
		}
	}
	k := bytes.Index(seg, []byte(categoriesKey))
	if k < 0 {
		return fi
	}
	p := seg[k+len(categoriesKey):]
	idx, rest := probeIndex(p)
	if idx < 0 {
		return fi
	}
	for {
		d := bytes.Index(rest, []byte(dataKey))
		if d < 0 {
			return fi
		}
		rest = rest[d+len(dataKey):]
		tok, ok := nthElement(rest, idx)
		if !ok || string(tok) == "null" {
			continue
		}
		v, err := strconv.ParseFloat(string(tok), 64)
		if err != nil || v < 0 {
			return fi
		}
		fi.probe, fi.hasProbe = uint64(v), true
		return fi
	}
}

// probeIndex reads a JSON array of strings (after its '[') and returns the
// index of probeCategory in it, or -1, and the text after the array.
func probeIndex(p []byte) (int, []byte) {
	idx := -1
	for n := 0; ; n++ {
		for len(p) > 0 && (p[0] == ',' || p[0] == ' ') {
			p = p[1:]
		}
		if len(p) == 0 {
			return -1, nil
		}
		if p[0] == ']' {
			return idx, p[1:]
		}
		if p[0] != '"' {
			return -1, nil
		}
		// Find the closing quote, stepping over escapes.
		j := 1
		for j < len(p) && p[j] != '"' {
			if p[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(p) {
			return -1, nil
		}
		if string(p[1:j]) == probeCategory {
			idx = n
		}
		p = p[j+1:]
	}
}

// nthElement returns the idx-th element of a JSON array of numbers and
// nulls, given the text after its '['.
func nthElement(p []byte, idx int) ([]byte, bool) {
	for n := 0; ; n++ {
		end := bytes.IndexAny(p, ",]")
		if end < 0 {
			return nil, false
		}
		if n == idx {
			return bytes.TrimSpace(p[:end]), end > 0
		}
		if p[end] == ']' {
			return nil, false
		}
		p = p[end+1:]
	}
}
