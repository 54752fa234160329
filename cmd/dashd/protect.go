package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dashd/dashd/config"
)

// adminTokenFile is where a generated admin token is kept, under --data.
const adminTokenFile = "admin-token"

// minAdminToken is the shortest token DATA/admin-token may hold.
const minAdminToken = 16

// protectedMode refuses to serve on a non-loopback address with no tokens
// at all, unless auth.open says it is meant (Redis's protected mode).
func protectedMode(f *config.File) error {
	if f.Loopback() || f.Auth.Open || len(f.Auth.IngestTokens) > 0 || len(f.Auth.AdminTokens) > 0 {
		return nil
	}
	return fmt.Errorf("dashd would listen on %s, beyond this machine, with no tokens: anyone who can reach it could push samples. "+
		"Set auth.ingest_tokens and auth.admin_tokens, or listen on 127.0.0.1 (--addr 127.0.0.1:8080), "+
		"or set auth.open: true to serve it open on purpose", f.Addr)
}

// adminTokens are auth.admin_tokens, or, when none is set, one generated
// token: kept in DATA/admin-token (read again at the next start) or, with
// --data "", for this run only. generated is that token ("" when
// configured), which the start-up log shows.
func adminTokens(f *config.File) (tokens []string, generated string, err error) {
	if len(f.Auth.AdminTokens) > 0 {
		return f.Auth.AdminTokens, "", nil
	}
	path := ""
	if f.Data != "" && f.NATS.URL == "" {
		path = filepath.Join(f.Data, adminTokenFile)
		b, err := os.ReadFile(path)
		tok := strings.TrimSpace(string(b))
		switch {
		case err == nil && len(tok) >= minAdminToken:
			return []string{tok}, tok, nil
		case err == nil:
			return nil, "", fmt.Errorf("%s holds a token of %d characters, too short to guard writes (expected at least %d): remove the file for a generated one, or set auth.admin_tokens", path, len(tok), minAdminToken)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, "", fmt.Errorf("read the generated admin token: %w", err)
		}
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, "", fmt.Errorf("generate an admin token: %w", err)
	}
	tok := hex.EncodeToString(raw[:])
	if path != "" {
		if err := os.MkdirAll(f.Data, 0o700); err != nil {
			return nil, "", fmt.Errorf("keep the generated admin token: %w", err)
		}
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			return nil, "", fmt.Errorf("keep the generated admin token: %w", err)
		}
	}
	return []string{tok}, tok, nil
}

// AdminToken is an admin token this dashd takes: the generated one, or the
// first of auth.admin_tokens.
func (m *Main) AdminToken() string { return m.adminTokens[0] }
