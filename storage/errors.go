package storage

import "errors"

var (
	// ErrNotFound means the record asked for does not exist (or no longer
	// exists, for records that expire).
	ErrNotFound = errors.New("storage: not found")

	// ErrAlreadyExists means a record with the same key is already stored and
	// the operation does not overwrite.
	ErrAlreadyExists = errors.New("storage: already exists")
)
