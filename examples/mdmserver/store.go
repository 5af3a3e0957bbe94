package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage/memory"
	"github.com/mdmkit/mdmkit/storage/postgres"
	"github.com/mdmkit/mdmkit/storage/sqlite"
	"github.com/mdmkit/mdmkit/windows"
)

// store lists the storage interfaces this server uses. The library keeps
// them apart; the server gets them all from one backend, so that SCEP and
// Apple MDM share what they know (cert-auth follows SCEP renewals through
// the issued certificates).
type store interface {
	scep.CertStore
	apple.CheckinStore
	apple.EnrollmentStore
	apple.PushInfoStore
	apple.BootstrapTokenStore
	apple.CertAuthStore
	apple.CommandEnqueuer
	apple.CommandQueue
	apple.QueueViewer
	windows.EnrollmentStore
	windows.EnrollmentLister
}

// dbFile is the SQLite database in the data directory when -db is not
// given.
const dbFile = "mdm.db"

// openStore opens the backend -db names: "sqlite:PATH" (the default is
// mdm.db in the data directory), a postgres:// or postgresql:// URL, or
// "memory" (everything is lost on restart). It returns the store, a
// function that closes it, and a description for the start-up lines that
// never includes a password.
func openStore(ctx context.Context, spec, schema, dataDir string, logger *slog.Logger) (store, func() error, string, error) {
	nop := func() error { return nil }
	switch {
	case spec == "memory":
		return memory.New(), nop, "memory (lost on restart)", nil
	case spec == "" || strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		if spec == "" {
			path = filepath.Join(dataDir, dbFile)
		}
		if path == "" {
			return nil, nil, "", fmt.Errorf("-db sqlite: needs a path, as in sqlite:%s", dbFile)
		}
		s, err := sqlite.Open(ctx, path, &sqlite.Options{Logger: logger})
		if err != nil {
			return nil, nil, "", fmt.Errorf("-db: %w", err)
		}
		return s, s.Close, "sqlite " + path, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		s, err := postgres.Open(ctx, spec, &postgres.Options{Schema: schema, Logger: logger})
		if err != nil {
			return nil, nil, "", fmt.Errorf("-db: %w", err)
		}
		desc := "postgres " + redactURL(spec)
		if schema != "" {
			desc += " schema " + schema
		}
		return s, func() error { s.Close(); return nil }, desc, nil
	}
	return nil, nil, "", fmt.Errorf("-db %q: want sqlite:PATH, a postgres:// URL, or memory", redactURL(spec))
}

// redactURL drops the password of a URL-shaped DSN.
func redactURL(spec string) string {
	at := strings.LastIndex(spec, "@")
	scheme := strings.Index(spec, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return spec
	}
	userinfo := spec[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return spec[:scheme+3] + userinfo[:i] + ":xxxxx" + spec[at:]
	}
	return spec
}
