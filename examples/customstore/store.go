package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mdmkit/mdmkit/scep"
	"github.com/mdmkit/mdmkit/storage"
)

// dirChallenges keeps scep.OneTimeChallenges' digests as files in a
// directory, one file per digest holding its expiry: a store a host could
// put on a shared volume. It is the host's own backend for one interface,
// checked by storagetest.TestChallengeStore (see store_test.go).
type dirChallenges struct {
	dir string
}

var _ scep.ChallengeStore = (*dirChallenges)(nil)

func newDirChallenges(dir string) (*dirChallenges, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &dirChallenges{dir: dir}, nil
}

func (d *dirChallenges) path(digest []byte) string {
	return filepath.Join(d.dir, hex.EncodeToString(digest))
}

// PutChallenge writes the expiry to a temporary file and renames it into
// place, so a reader never sees half a file.
func (d *dirChallenges) PutChallenge(ctx context.Context, digest []byte, expires time.Time) error {
	if len(digest) == 0 {
		return errors.New("customstore: empty digest")
	}
	tmp, err := os.CreateTemp(d.dir, ".put-*")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(strconv.FormatInt(expires.UnixNano(), 10))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), d.path(digest))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("customstore: storing challenge: %w", err)
	}
	return nil
}

// ConsumeChallenge claims the file by renaming it to a name only this call
// knows: of concurrent callers exactly one rename succeeds, which is the
// "exactly one" the interface asks for.
func (d *dirChallenges) ConsumeChallenge(ctx context.Context, digest []byte, now time.Time) error {
	if len(digest) == 0 {
		return storage.ErrNotFound
	}
	claimed, err := os.CreateTemp(d.dir, ".claim-*")
	if err != nil {
		return err
	}
	claimed.Close()
	if err := os.Rename(d.path(digest), claimed.Name()); err != nil {
		os.Remove(claimed.Name())
		if errors.Is(err, os.ErrNotExist) {
			return storage.ErrNotFound
		}
		return fmt.Errorf("customstore: claiming challenge: %w", err)
	}
	defer os.Remove(claimed.Name())
	b, err := os.ReadFile(claimed.Name())
	if err != nil {
		return fmt.Errorf("customstore: reading challenge: %w", err)
	}
	ns, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("customstore: corrupt challenge file: %w", err)
	}
	if now.After(time.Unix(0, ns)) {
		return storage.ErrNotFound
	}
	return nil
}
