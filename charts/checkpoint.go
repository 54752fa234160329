package charts

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"time"
)

// Position is a place in the log: the stream sequence of a message and the
// log's timestamp of it. The zero Position is before the log's start (or:
// not from a log).
type Position struct {
	Seq  uint64
	Time time.Time
}

// CheckpointVersion is the version of the Checkpoint encoding that
// MarshalBinary writes and UnmarshalBinary reads.
const CheckpointVersion = 1

// Checkpoint is the state of every metric chart's View at one log position.
// Push charts are not in it: their data is in the push-data store.
type Checkpoint struct {
	Version int      // encoding version (CheckpointVersion)
	At      Position // every batch up to and including At.Seq is in it, none after
	// Taken is the board's clock when the state was copied. A view forgets
	// what leaves its window as time passes, whether or not the log moves:
	// the state is what the charts held at Taken, so it can stand for a
	// moment T only if Taken is not after T (rewind checks it). Zero: not
	// known.
	Taken  time.Time
	Charts []ChartState
}

// ChartState is one chart's View state in a Checkpoint.
type ChartState struct {
	Chart string // chart id
	Def   string // Chart.Hash() of the definition the state was computed for
	State []byte // the View's state (View.MarshalState)
}

// The errors UnmarshalBinary wraps, so that a caller can tell a checkpoint
// to skip (another version) from one that was damaged.
var (
	ErrCheckpointVersion   = errors.New("unsupported checkpoint version")
	ErrCheckpointChecksum  = errors.New("checkpoint checksum mismatch")
	ErrCheckpointTruncated = errors.New("checkpoint truncated")
	ErrCheckpointCorrupt   = errors.New("checkpoint corrupt")
)

// The encoding of a Checkpoint:
//
//	"DCKP"                magic
//	uint32 little-endian  version (CheckpointVersion)
//	uint64 little-endian  the length of the whole encoding, checksum included
//	uvarint               At.Seq
//	byte, varint          1 and At.Time in Unix ns, or 0 for the zero time
//	byte, varint          Taken, likewise
//	uvarint               the number of charts (at most MaxCharts), then per
//	                      chart, ascending by id: uvarint length and bytes of
//	                      the id, of the definition hash, of the state
//	uint32 little-endian  CRC-32C (Castagnoli) of everything before it
//
// Everything up to the length is read before the checksum is checked, so
// that another version, or a truncated copy, is told apart from damage.
const (
	checkpointMagic  = "DCKP"
	checkpointHeader = 4 + 4 + 8
	maxHashBytes     = 64 // Chart.Hash is 32
	maxIDBytes       = 64 // idPattern
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes c (see the encoding above), its charts sorted by
// id. It refuses a Version other than 0 (meaning the current one) or
// CheckpointVersion, more than MaxCharts charts, and ids or hashes that
// no definition has.
func (c *Checkpoint) MarshalBinary() ([]byte, error) {
	if c.Version != 0 && c.Version != CheckpointVersion {
		return nil, fmt.Errorf("charts: checkpoint: %w: cannot encode version %d (this build writes %d)", ErrCheckpointVersion, c.Version, CheckpointVersion)
	}
	if len(c.Charts) > MaxCharts {
		return nil, fmt.Errorf("charts: checkpoint: %d charts, at most %d", len(c.Charts), MaxCharts)
	}
	charts := slices.Clone(c.Charts)
	slices.SortFunc(charts, func(a, b ChartState) int { return cmp.Compare(a.Chart, b.Chart) })
	size := checkpointHeader + 3*binary.MaxVarintLen64 + 2 + 4
	for i, ch := range charts {
		if len(ch.Chart) > maxIDBytes || len(ch.Def) > maxHashBytes {
			return nil, fmt.Errorf("charts: checkpoint: charts[%d]: an id of %d bytes or a hash of %d (at most %d and %d)", i, len(ch.Chart), len(ch.Def), maxIDBytes, maxHashBytes)
		}
		if i > 0 && ch.Chart == charts[i-1].Chart {
			return nil, fmt.Errorf("charts: checkpoint: chart %q twice", ch.Chart)
		}
		size += 3*binary.MaxVarintLen64 + len(ch.Chart) + len(ch.Def) + len(ch.State)
	}
	b := make([]byte, checkpointHeader, size)
	copy(b, checkpointMagic)
	binary.LittleEndian.PutUint32(b[4:], CheckpointVersion)
	b = binary.AppendUvarint(b, c.At.Seq)
	for _, t := range []time.Time{c.At.Time, c.Taken} {
		if t.IsZero() {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = binary.AppendVarint(b, t.UnixNano())
		}
	}
	b = binary.AppendUvarint(b, uint64(len(charts)))
	for _, ch := range charts {
		for _, s := range [][]byte{[]byte(ch.Chart), []byte(ch.Def), ch.State} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	binary.LittleEndian.PutUint64(b[8:], uint64(len(b)+4))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// UnmarshalBinary decodes a checkpoint that MarshalBinary encoded. A
// wrong magic or a bad structure wraps ErrCheckpointCorrupt, another
// version ErrCheckpointVersion, a short copy ErrCheckpointTruncated, a
// damaged one ErrCheckpointChecksum; each error says what was found. On
// error c is unchanged. c keeps no reference to b; At.Time comes back in
// UTC (compare times with Equal).
func (c *Checkpoint) UnmarshalBinary(b []byte) error {
	bad := func(sentinel error, format string, args ...any) error {
		return fmt.Errorf("charts: checkpoint: %w: %s", sentinel, fmt.Sprintf(format, args...))
	}
	if len(b) < checkpointHeader {
		if len(b) < len(checkpointMagic) || string(b[:4]) == checkpointMagic {
			return bad(ErrCheckpointTruncated, "%d bytes, shorter than the %d-byte header", len(b), checkpointHeader)
		}
	}
	if string(b[:4]) != checkpointMagic {
		return bad(ErrCheckpointCorrupt, "it does not start with %q (not a dashd checkpoint)", checkpointMagic)
	}
	if v := binary.LittleEndian.Uint32(b[4:]); v != CheckpointVersion {
		return bad(ErrCheckpointVersion, "version %d; this build reads version %d", v, CheckpointVersion)
	}
	switch size := binary.LittleEndian.Uint64(b[8:]); {
	case size > uint64(len(b)):
		return bad(ErrCheckpointTruncated, "%d of its %d bytes", len(b), size)
	case size < uint64(len(b)):
		return bad(ErrCheckpointCorrupt, "%d bytes after its end (%d bytes)", uint64(len(b))-size, size)
	case size < checkpointHeader+4:
		return bad(ErrCheckpointCorrupt, "a length of %d bytes, shorter than its header and checksum", size)
	}
	body := b[:len(b)-4]
	if want, got := binary.LittleEndian.Uint32(b[len(b)-4:]), crc32.Checksum(body, castagnoli); want != got {
		return bad(ErrCheckpointChecksum, "CRC-32C %08x, stored %08x", got, want)
	}
	// One copy, which the decoded states share.
	r := &stateReader{b: slices.Clone(body), off: checkpointHeader, id: "(checkpoint)"}
	var out Checkpoint
	out.Version = CheckpointVersion
	out.At.Seq = r.uvarint()
	for _, dst := range []*time.Time{&out.At.Time, &out.Taken} {
		switch t := r.byte(); {
		case r.err != nil:
		case t == 1:
			*dst = time.Unix(0, r.varint()).UTC()
		case t != 0:
			r.off--
			r.fail("%d where 0 (no time) or 1 (a time follows) was expected", t)
		}
	}
	n := r.count("charts", MaxCharts, 3)
	out.Charts = make([]ChartState, n)
	field := func(what string, most int) []byte {
		at := r.off
		size := r.uvarint()
		if r.err == nil && (size > uint64(most) || size > uint64(len(r.b)-r.off)) {
			r.off = at
			r.fail("%s of %d bytes (at most %d, and %d are left)", what, size, most, len(r.b)-r.off)
		}
		if r.err != nil {
			return nil
		}
		s := r.b[r.off : r.off+int(size) : r.off+int(size)]
		r.off += int(size)
		return s
	}
	for i := range out.Charts {
		ch := &out.Charts[i]
		ch.Chart = string(field("a chart id", maxIDBytes))
		ch.Def = string(field("a definition hash", maxHashBytes))
		ch.State = field("a view state", len(r.b))
		if r.err == nil && i > 0 && ch.Chart <= out.Charts[i-1].Chart {
			r.fail("chart %q is out of order or repeated", ch.Chart)
		}
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("%d bytes after the last chart", len(r.b)-r.off)
	}
	if r.err != nil {
		return bad(ErrCheckpointCorrupt, "at byte %d: %s", r.err.Offset, r.err.Message)
	}
	*c = out
	return nil
}

// ErrNotFromLog is returned by Board.Checkpoint when the board applied a
// batch that did not come from the log (Accept, not AcceptAt): the log
// could not reproduce its state, so no position names it.
var ErrNotFromLog = errors.New("charts: the board applied batches that are not in the log; its state has no log position")

// Checkpoint returns the state of every metric chart at the position of
// the last batch the board applied. The board's goroutine only copies the
// views' cells and names (a cost linear in the cells held, bounded by
// MaxCharts × MaxChartCells: 43-71 ms for 24 charts of MaxChartCells
// cells, 0.1 ms for the demo, docs/BENCHMARKS.md); encoding happens in the
// caller's goroutine.
// A chart still being filled from History (defined while the board ran,
// or not restorable from Config.Start) is left out until it is full, as is
// one whose filling failed: it would be wrong forever after. It may be
// called from any goroutine.
func (b *Board) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	snaps, defs, at, taken, err := b.copyStates(ctx)
	if err != nil {
		return nil, err
	}
	cp := &Checkpoint{Version: CheckpointVersion, At: at, Taken: taken, Charts: make([]ChartState, len(snaps))}
	for i := range snaps {
		cp.Charts[i] = ChartState{Chart: defs[i].ID, Def: defs[i].Hash(), State: snaps[i].appendTo(nil)}
	}
	slices.SortFunc(cp.Charts, func(a, b ChartState) int { return cmp.Compare(a.Chart, b.Chart) })
	return cp, nil
}

// copyStates is the part of Checkpoint done in the board's goroutine: a
// copy of the state of every metric view that holds the whole log up to
// the board's position, and that position.
func (b *Board) copyStates(ctx context.Context) ([]viewState, []Chart, Position, time.Time, error) {
	var (
		snaps []viewState
		defs  []Chart
		at    Position
		taken time.Time
		mixed bool
	)
	err := b.do(ctx, func(st *boardState) {
		if mixed = st.unlogged; mixed {
			return
		}
		at, taken = st.at, b.cfg.Now()
		// st.views only: filtered views (filtered.go) are not in
		// checkpoints. They are made on demand and filled from the log
		// when first read, so a restarted board makes them again, complete.
		for _, v := range st.views {
			if _, filling := st.filling[v]; filling || v.def.Metric == "" {
				continue
			}
			snaps = append(snaps, v.snapshot())
			defs = append(defs, v.def)
		}
	})
	switch {
	case err != nil:
		return nil, nil, Position{}, time.Time{}, err
	case mixed:
		return nil, nil, Position{}, time.Time{}, ErrNotFromLog
	}
	return snaps, defs, at, taken, nil
}
