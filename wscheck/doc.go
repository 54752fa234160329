// Package wscheck is the engine of `dashd check-ws URL`: it performs a
// WebSocket opening handshake itself, over a raw connection, and explains
// each step (DNS, TCP, TLS, the request, the status, each header that
// matters, a refusal's body, the first frame) with its likely cause and fix
// when it fails.
//
// The server on the other end may be hostile, and its bytes reach the
// operator's terminal: everything Check writes, and the error it returns,
// is printable text (control characters, C1 controls, bidi and other format
// characters and bytes that are not UTF-8 are shown escaped, as \x1b,
// \r or \u202e), and every line of the report is one Check started.
//
// It imports nothing inside the module; Check is safe for concurrent use.
package wscheck
