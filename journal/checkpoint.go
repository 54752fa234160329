package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/dashd/dashd/charts"
)

// CheckpointBucket is the JetStream object store of checkpoints: one object
// per checkpoint, named by its position's sequence (checkpointName), with
// the position, version and size in its metadata. Every node reads it.
const CheckpointBucket = "dashd-checkpoints"

// MaxCheckpointBytes bounds the size of one checkpoint, written or read:
// LoadCheckpoint refuses a larger object before reading it.
const MaxCheckpointBytes = 1 << 30

// maxCheckpointTries bounds how many checkpoints CheckpointBefore loads
// before giving up when the newest ones are unusable: each costs a read of
// a whole object, and the fallback (a longer replay of the log) is always
// correct.
const maxCheckpointTries = 3

// The metadata keys of a checkpoint object.
const (
	metaSeq     = "dashd-seq"
	metaTime    = "dashd-time" // RFC 3339 with nanoseconds, UTC
	metaVersion = "dashd-version"
	metaSize    = "dashd-size"
)

// CheckpointInfo describes one stored checkpoint without reading it.
type CheckpointInfo struct {
	At      charts.Position // every batch up to and including At.Seq is in it
	Size    int64           // bytes
	Version int             // the encoding version it was written with
}

// checkpointName is the object name of a checkpoint at seq: zero-padded,
// so that names sort as positions do.
func checkpointName(seq uint64) string { return fmt.Sprintf("%020d", seq) }

func (j *Journal) openCheckpoints(ctx context.Context) (err error) {
	j.checkpoints, err = j.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      CheckpointBucket,
		Description: "dashd: checkpoints of the charts' state, one object per log position (see the journal package)",
		Storage:     j.storage,
		Replicas:    j.cfg.Replicas,
		// State is numbers and repeated names: it compresses well, and the
		// data directory grows by what is kept here.
		Compression: j.storage == jetstream.FileStorage,
	})
	return err
}

// putCheckpoint stores data, the encoded state at at (encoding version
// version), replacing a checkpoint stored at the same position (another
// node at the same position has the same state). It is the byte-level
// PutCheckpoint.
func (j *Journal) putCheckpoint(ctx context.Context, at charts.Position, version int, data []byte) error {
	if at.Seq == 0 {
		return errors.New("journal: a checkpoint needs a position in the log (seq 0 is before the log)")
	}
	if len(data) > MaxCheckpointBytes {
		return fmt.Errorf("journal: a checkpoint of %d bytes is larger than the %d allowed", len(data), MaxCheckpointBytes)
	}
	meta := jetstream.ObjectMeta{
		Name:        checkpointName(at.Seq),
		Description: "dashd charts checkpoint",
		Metadata: map[string]string{
			metaSeq:     strconv.FormatUint(at.Seq, 10),
			metaTime:    at.Time.UTC().Format(time.RFC3339Nano),
			metaVersion: strconv.Itoa(version),
			metaSize:    strconv.Itoa(len(data)),
		},
	}
	if _, err := j.checkpoints.Put(ctx, meta, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("journal: store the checkpoint at seq %d: %w", at.Seq, err)
	}
	return nil
}

// Checkpoints lists the stored checkpoints, oldest first. An object whose
// metadata cannot be read (not written by dashd) is logged and left out.
func (j *Journal) Checkpoints(ctx context.Context) ([]CheckpointInfo, error) {
	objs, err := j.checkpoints.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: list the checkpoints: %w", err)
	}
	out := make([]CheckpointInfo, 0, len(objs))
	for _, o := range objs {
		info, err := parseCheckpointInfo(o)
		if err != nil {
			j.log.Warn("an object of the checkpoint bucket is not a dashd checkpoint; it is ignored", "bucket", CheckpointBucket, "name", o.Name, "err", err)
			continue
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b CheckpointInfo) int {
		switch {
		case a.At.Seq < b.At.Seq:
			return -1
		case a.At.Seq > b.At.Seq:
			return 1
		}
		return 0
	})
	return out, nil
}

func parseCheckpointInfo(o *jetstream.ObjectInfo) (CheckpointInfo, error) {
	var info CheckpointInfo
	seq, err := strconv.ParseUint(o.Metadata[metaSeq], 10, 64)
	if err != nil || seq == 0 || o.Name != checkpointName(seq) {
		return info, fmt.Errorf("metadata %s is %q (expected the seq its name %q says)", metaSeq, o.Metadata[metaSeq], o.Name)
	}
	at, err := time.Parse(time.RFC3339Nano, o.Metadata[metaTime])
	if err != nil {
		return info, fmt.Errorf("metadata %s is %q (expected an RFC 3339 time)", metaTime, o.Metadata[metaTime])
	}
	version, err := strconv.Atoi(o.Metadata[metaVersion])
	if err != nil {
		return info, fmt.Errorf("metadata %s is %q (expected a number)", metaVersion, o.Metadata[metaVersion])
	}
	return CheckpointInfo{At: charts.Position{Seq: seq, Time: at}, Size: int64(o.Size), Version: version}, nil
}

// loadCheckpoint reads the checkpoint at seq whole. The object store checks
// the object's SHA-256 digest as it reads; the encoding's own checks
// (version, checksum) are the decoder's.
func (j *Journal) loadCheckpoint(ctx context.Context, seq uint64) ([]byte, CheckpointInfo, error) {
	name := checkpointName(seq)
	o, err := j.checkpoints.GetInfo(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, CheckpointInfo{}, fmt.Errorf("journal: no checkpoint at seq %d: %w", seq, ErrNoCheckpoint)
	}
	if err != nil {
		return nil, CheckpointInfo{}, fmt.Errorf("journal: read the checkpoint at seq %d: %w", seq, err)
	}
	info, err := parseCheckpointInfo(o)
	if err != nil {
		return nil, CheckpointInfo{}, fmt.Errorf("journal: the checkpoint object %q: %w", name, err)
	}
	if info.Size > MaxCheckpointBytes {
		return nil, info, fmt.Errorf("journal: the checkpoint at seq %d has %d bytes, more than the %d allowed", seq, info.Size, MaxCheckpointBytes)
	}
	data, err := j.checkpoints.GetBytes(ctx, name)
	if err != nil {
		return nil, info, fmt.Errorf("journal: read the checkpoint at seq %d: %w", seq, err)
	}
	return data, info, nil
}

// ErrNoCheckpoint is wrapped by LoadCheckpoint when none is stored at seq.
var ErrNoCheckpoint = errors.New("no such checkpoint")

// checkpointBefore finds the newest checkpoint at or before seq whose
// position the log still retains (Retains), loads it and hands it to
// decode; one that fails to load or decode is logged and the next older
// one is tried, at most maxCheckpointTries in all. It reports the one
// decode took, or ok false when none did: the caller then replays the log,
// which costs time, never correctness.
func (j *Journal) checkpointBefore(ctx context.Context, seq uint64, decode func(data []byte, info CheckpointInfo) error) (info CheckpointInfo, ok bool, err error) {
	infos, err := j.Checkpoints(ctx)
	if err != nil || len(infos) == 0 {
		return CheckpointInfo{}, false, err
	}
	first, _, err := j.Bounds(ctx)
	if err != nil {
		return CheckpointInfo{}, false, err
	}
	tries := 0
	for i := len(infos) - 1; i >= 0 && tries < maxCheckpointTries; i-- {
		c := infos[i]
		if c.At.Seq > seq {
			continue
		}
		if first.Seq == 0 || c.At.Seq < first.Seq {
			// Aged out of the log, and every older one with it.
			j.log.Info("the newest checkpoint before the position is older than the log; none is used", "seq", seq, "checkpoint_seq", c.At.Seq, "log_first_seq", first.Seq)
			return CheckpointInfo{}, false, nil
		}
		retained, err := j.Retains(ctx, c.At)
		if err != nil {
			return CheckpointInfo{}, false, err
		}
		if !retained {
			tries++
			j.m.badCheckpoints.Inc()
			j.log.Warn("a checkpoint names a message the log does not hold (another log's?); it is not used", "checkpoint_seq", c.At.Seq, "checkpoint_time", c.At.Time)
			continue
		}
		tries++
		data, got, err := j.loadCheckpoint(ctx, c.At.Seq)
		if err == nil {
			err = decode(data, got)
		}
		if err != nil {
			if ctx.Err() != nil {
				return CheckpointInfo{}, false, ctx.Err()
			}
			j.m.badCheckpoints.Inc()
			j.log.Warn("a checkpoint cannot be used; an older one or the log is read instead", "checkpoint_seq", c.At.Seq, "err", err)
			continue
		}
		return got, true, nil
	}
	return CheckpointInfo{}, false, nil
}

// Retains says whether the log still holds the message at pos: at its
// sequence, with its timestamp. A checkpoint at pos is usable only then:
// the log after it is whole, and it is the same log (a stream deleted and
// made again starts its sequences anew, and its message at that sequence
// has another time).
func (j *Journal) Retains(ctx context.Context, pos charts.Position) (bool, error) {
	if pos.Seq == 0 {
		return false, nil
	}
	msg, err := j.stream.GetMsg(ctx, pos.Seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal: read the log at seq %d: %w", pos.Seq, err)
	}
	return msg.Time.Equal(pos.Time), nil
}

// PruneCheckpoints removes every checkpoint of a position older than
// keepAfter (the log's retention: the log before it is gone, so it could
// not be used) and, of the rest, all but the keepNewest newest. It reports
// how many it removed.
func (j *Journal) PruneCheckpoints(ctx context.Context, keepAfter time.Time, keepNewest int) (removed int, err error) {
	infos, err := j.Checkpoints(ctx)
	if err != nil {
		return 0, err
	}
	kept := 0
	for i := len(infos) - 1; i >= 0; i-- {
		c := infos[i]
		if !c.At.Time.Before(keepAfter) && kept < keepNewest {
			kept++
			continue
		}
		if err := j.checkpoints.Delete(ctx, checkpointName(c.At.Seq)); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return removed, fmt.Errorf("journal: remove the checkpoint at seq %d: %w", c.At.Seq, err)
		}
		removed++
	}
	return removed, nil
}

// PutCheckpoint stores cp (encoded by its MarshalBinary: versioned and
// checksummed) as the checkpoint at cp.At, replacing one stored at the
// same position (another node there has the same state).
func (j *Journal) PutCheckpoint(ctx context.Context, cp *charts.Checkpoint) error {
	data, err := cp.MarshalBinary()
	if err != nil {
		return fmt.Errorf("journal: encode the checkpoint at seq %d: %w", cp.At.Seq, err)
	}
	version := cp.Version
	if version == 0 {
		version = charts.CheckpointVersion
	}
	if err := j.putCheckpoint(ctx, cp.At, version, data); err != nil {
		return err
	}
	j.m.checkpointWrites.Inc()
	j.m.checkpointBytes.Add(float64(len(data)))
	j.m.checkpointSize.Set(float64(len(data)))
	return nil
}

// LoadCheckpoint reads and decodes the checkpoint stored at seq: an error
// wrapping ErrNoCheckpoint if there is none, and one wrapping the charts
// package's (charts.ErrCheckpointVersion, ErrCheckpointChecksum, ...) if
// it cannot be decoded. It checks that the checkpoint is the one its name
// and metadata say.
func (j *Journal) LoadCheckpoint(ctx context.Context, seq uint64) (*charts.Checkpoint, error) {
	data, info, err := j.loadCheckpoint(ctx, seq)
	if err != nil {
		return nil, err
	}
	return decodeCheckpoint(data, info)
}

func decodeCheckpoint(data []byte, info CheckpointInfo) (*charts.Checkpoint, error) {
	cp := new(charts.Checkpoint)
	if err := cp.UnmarshalBinary(data); err != nil {
		return nil, fmt.Errorf("journal: the checkpoint at seq %d: %w", info.At.Seq, err)
	}
	if cp.At.Seq != info.At.Seq || !cp.At.Time.Equal(info.At.Time) {
		return nil, fmt.Errorf("journal: the checkpoint stored as seq %d (%s) says it is at seq %d (%s)",
			info.At.Seq, info.At.Time.Format(time.RFC3339Nano), cp.At.Seq, cp.At.Time.Format(time.RFC3339Nano))
	}
	return cp, nil
}

// CheckpointBefore returns the newest checkpoint at or before seq whose
// position the log still retains (Retains) and that decodes; one that
// cannot be read or decoded is logged, counted in
// dashd_journal_checkpoints_unusable_total, and the next older is tried,
// at most three in all. It returns nil, nil when there is none: replaying
// the log instead costs time, never correctness. Pass math.MaxUint64 for
// the newest.
func (j *Journal) CheckpointBefore(ctx context.Context, seq uint64) (*charts.Checkpoint, error) {
	var cp *charts.Checkpoint
	_, ok, err := j.checkpointBefore(ctx, seq, func(data []byte, info CheckpointInfo) (err error) {
		cp, err = decodeCheckpoint(data, info)
		return err
	})
	if err != nil || !ok {
		return nil, err
	}
	return cp, nil
}
