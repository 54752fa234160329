package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// RevokedBucketName is the key-value bucket of revoked embed tokens.
const RevokedBucketName = "dashd_revoked"

const (
	// maxTokenTTL is the longest life of an embed token (embed.MaxTTL,
	// which journal does not import: it keeps below embed): a revocation
	// older than that refuses nothing any more.
	maxTokenTTL = 366 * 24 * time.Hour
	// revokeGrace keeps a revocation this long past its token's expiry,
	// for nodes whose clocks run behind.
	revokeGrace = time.Hour
	// maxJTI is the longest token id Revoke takes.
	maxJTI = 128
)

// CheckJTI accepts a token id (jti) as embed mints them: 1 to 128
// characters of hex or base64url (letters, digits, '-' and '_'). Those
// are all valid NATS key characters and none is a wildcard or a token
// separator, so a jti is its own key in the bucket.
func CheckJTI(jti string) error {
	if jti == "" || len(jti) > maxJTI {
		return fmt.Errorf("journal: the token id has %d characters (expected 1 to %d characters of hex or base64url)", len(jti), maxJTI)
	}
	for i := 0; i < len(jti); i++ {
		c := jti[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("journal: the token id %.40q has %q at position %d (expected hex or base64url: letters, digits, '-' and '_')", jti, c, i+1)
		}
	}
	return nil
}

// revocation is the value stored under a revoked jti.
type revocation struct {
	Expires time.Time `json:"expires"` // when the token expires anyway
	Revoked time.Time `json:"revoked"`
}

// openRevoked creates or updates the bucket of revocations. Each key has
// a TTL of its own (its token's remaining life plus revokeGrace), so the
// bucket holds only revocations that still refuse something; the bucket's
// TTL backs that up at the longest token life, and is all there is on a
// NATS older than 2.11, which has no per-key TTL.
func (j *Journal) openRevoked(ctx context.Context) (err error) {
	cfg := jetstream.KeyValueConfig{
		Bucket:         RevokedBucketName,
		Description:    "dashd: revoked embed tokens (key: the jti, value: JSON {expires, revoked}); each key expires with its token",
		History:        1,
		TTL:            maxTokenTTL + revokeGrace,
		LimitMarkerTTL: time.Minute,
		Storage:        j.storage,
		Replicas:       j.cfg.Replicas,
	}
	j.revoked, err = j.js.CreateOrUpdateKeyValue(ctx, cfg)
	j.keyTTL = err == nil
	if errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
		j.log.Warn("this NATS has no per-key TTL (2.11 and later have): revoked embed tokens are kept for the longest token life")
		cfg.LimitMarkerTTL = 0
		j.revoked, err = j.js.CreateOrUpdateKeyValue(ctx, cfg)
	}
	return err
}

// Revoke stores that the embed token jti is refused until expires (its
// expiry; zero when not known, then for the longest token life). Every
// WatchRevocations, on every node and after every restart, sees it until
// the token has expired anyway. Revoking a token twice is not an error;
// the first expiry stays. jti must pass CheckJTI.
func (j *Journal) Revoke(ctx context.Context, jti string, expires time.Time) error {
	if err := CheckJTI(jti); err != nil {
		return err
	}
	now := time.Now()
	if expires.IsZero() || expires.After(now.Add(maxTokenTTL)) {
		expires = now.Add(maxTokenTTL)
	}
	// NATS counts a key's TTL in whole seconds, at least one.
	ttl := max(expires.Sub(now)+revokeGrace, time.Second).Round(time.Second)
	b, err := json.Marshal(revocation{Expires: expires.UTC(), Revoked: now.UTC()})
	if err != nil {
		return fmt.Errorf("journal: encode the revocation of %s: %w", jti, err)
	}
	var opts []jetstream.KVCreateOpt
	if j.keyTTL {
		opts = append(opts, jetstream.KeyTTL(ttl))
	}
	if _, err := j.revoked.Create(ctx, jti, b, opts...); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("journal: store the revocation of token %s: %w", jti, err)
	}
	return nil
}

// WatchRevocations calls fn with the jti of every revocation the bucket
// holds, then of every later one from any node, then ready once after
// those held at the start (at once when there are none). It runs until
// ctx is done (then it returns nil) and calls fn and ready from its own
// goroutine, one call at a time. A revocation that expires (its token
// has expired too) calls nothing; a key that is not a valid jti (written
// by something else) is logged and skipped.
func (j *Journal) WatchRevocations(ctx context.Context, fn func(jti string), ready func()) error {
	return j.watchBucket(ctx, RevokedBucketName, func(e kvEntry) {
		if e.deleted {
			return
		}
		if err := CheckJTI(e.key); err != nil {
			j.log.Error("a stored revocation has a key that is no token id; it is skipped", "key", e.key, "revision", e.rev, "err", err)
			return
		}
		fn(e.key)
	}, func(initial bool) {
		if initial && ready != nil {
			ready()
		}
	})
}
