// Package embed mints and checks embed tokens: signed, expiring, revocable
// grants to read one chart or one dashboard, for a page that embeds dashd
// (an iframe of /embed/{chart} or a <dashd-chart> element).
//
// A token is two base64url (unpadded) parts joined by a dot:
//
//	base64url(claims JSON) "." base64url(HMAC-SHA256(secret, first part))
//
// The claims are {"v":1,"jti":ID,"chart":ID|"dashboard":ID,"iat":UNIX,"exp":UNIX};
// exactly one of chart and dashboard is set. The signature covers the
// encoded claims byte for byte, so nothing is re-encoded before checking.
// Tokens are bearer secrets: whoever holds one may read what it names until
// it expires or its jti is revoked.
//
// Revocation is by jti: the list given in Config.Revoked (the configuration
// key embed.revoked, which survives restarts) plus the ids passed to
// Keys.Revoke while the process runs (forgotten at restart: add them to
// embed.revoked to keep them revoked).
//
// Verify returns an *Error whose Reason (missing, malformed, bad signature,
// expired, revoked, wrong scope) is what a 401 should say. The package knows
// nothing of HTTP or of charts beyond their ids; a *Keys may be used from
// many goroutines at once.
package embed
