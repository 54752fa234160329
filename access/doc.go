// Package access is dashd's front door: one table of every HTTP route with
// its access class (Routes), and the Policy that decides, for one request,
// whether it may pass. Deny is the default: a route that is not in the table
// is not served, and a class the Policy does not know is refused.
//
// The classes, from open to closed:
//
//   - Public: health, metrics, static assets and scripts: anyone who can
//     reach dashd (the Host check still applies).
//   - Read: dashboards, charts, frames and streams. With auth.read: public
//     anyone; with auth.read: token an admin token, or an embed token whose
//     scope covers what is read.
//   - Ingest: pushing samples. With auth.ingest_tokens set, one of them (or
//     an admin token); without, anyone (dashd says so at start, and refuses
//     to listen beyond loopback that way unless auth.open is set).
//   - Push: setting a push chart's data. An ingest token when they are set,
//     else an admin token; never open.
//   - Admin: writing definitions and minting or revoking embed tokens: an
//     admin token only; with none configured, 403 naming auth.admin_tokens.
//
// Before the class, every request passes two checks: its Host must be one
// dashd serves (allowed_hosts; on a loopback address only loopback names,
// which stops DNS rebinding), and a state-changing request from a browser
// on another origin is refused (net/http.CrossOriginProtection, which reads
// Sec-Fetch-Site and Origin; curl, Telegraf and the client libraries send
// neither and pass).
//
// Policy returns a Decision; it writes nothing. The caller (package api)
// turns a refusal into the one error body. Leases turns the embed token that
// allowed a stream into a context that ends when the token expires or is
// revoked, so the stream ends with it.
//
// A Policy and a Leases may be used from many goroutines at once; nothing in
// a Policy changes after New.
package access
