package apple

import (
	"context"
	"time"
)

// The storage interfaces below are what the apple package needs from a
// backend. storage/memory, storage/sqlite and storage/postgres implement all
// of them; storage/storagetest checks an implementation against the
// contracts documented here. Methods must be safe for concurrent use, and
// "not found" is storage.ErrNotFound, tested with errors.Is, so a backend
// may wrap it. Enrollment IDs are opaque strings (see IDFunc); a backend
// compares them byte for byte.

// EnrollmentRecord is what a backend knows about one channel.
type EnrollmentRecord struct {
	ID       string
	Type     EnrollType
	ParentID string
	// Active is true from a TokenUpdate until the next Authenticate or
	// CheckOut (of the channel or, for a user channel, of its device).
	Active bool
	// Device facts from the latest Authenticate (device channels only).
	UDID         string
	SerialNumber string
	DeviceName   string
	Model        string
	ProductName  string
	OSVersion    string
	BuildVersion string
	// User facts from the latest TokenUpdate (user channels only).
	UserShortName string
	UserLongName  string
	// Topic is the APNs topic the channel enrolled with.
	Topic string
	// TokenUpdates counts TokenUpdate messages since the latest
	// Authenticate (for a user channel, since it was created or since its
	// device's latest Authenticate).
	TokenUpdates int
	// AuthenticatedAt is the time of the latest Authenticate (zero for a
	// user channel); EnrolledAt of the first TokenUpdate after it;
	// UpdatedAt of the latest check-in message of any kind that changed
	// the record.
	AuthenticatedAt time.Time
	EnrolledAt      time.Time
	UpdatedAt       time.Time
}

// CheckinStore keeps the enrollment state that check-in messages change.
type CheckinStore interface {
	// StoreAuthenticate records an Authenticate of a device channel at the
	// given time: it creates the enrollment or resets an existing one,
	// leaves it inactive with TokenUpdates 0 until its next TokenUpdate,
	// deactivates its user channels, and forgets its push info and
	// UnlockToken. It must be idempotent.
	StoreAuthenticate(ctx context.Context, id EnrollID, m *Authenticate, at time.Time) error
	// StoreTokenUpdate records a TokenUpdate: it activates the channel
	// (creating a user channel on its first TokenUpdate), stores its push
	// info (token, PushMagic, topic) and UnlockToken when present, and
	// returns the channel's TokenUpdates count including this one: 1 means
	// the channel has just enrolled. A device channel that never sent
	// Authenticate is storage.ErrNotFound; so is a user channel whose
	// device channel is unknown.
	StoreTokenUpdate(ctx context.Context, id EnrollID, m *TokenUpdate, at time.Time) (tokenUpdates int, err error)
	// Disable deactivates a channel and, for a device channel, all its
	// user channels (CheckOut). Its queue is kept. Disabling an unknown
	// channel is storage.ErrNotFound; disabling an inactive one is nil.
	Disable(ctx context.Context, id string, at time.Time) error
}

// EnrollmentStore lists and reads enrollments, for admin APIs.
type EnrollmentStore interface {
	// Enrollment returns one channel's record, or storage.ErrNotFound.
	Enrollment(ctx context.Context, id string) (*EnrollmentRecord, error)
	// Enrollments returns up to limit records whose ID sorts after
	// `after` (byte order), in ID order; an empty result means the end.
	// limit <= 0 means 100.
	Enrollments(ctx context.Context, after string, limit int) ([]EnrollmentRecord, error)
}

// PushInfoStore returns what APNs needs to wake enrollments.
type PushInfoStore interface {
	// PushInfo returns the push info of each active ID in ids that has had
	// a TokenUpdate; unknown and inactive IDs are left out, without error.
	PushInfo(ctx context.Context, ids []string) (map[string]PushInfo, error)
}

// BootstrapTokenStore escrows bootstrap tokens (secrets; a backend should
// protect them at rest).
type BootstrapTokenStore interface {
	// StoreBootstrapToken replaces the bootstrap token of a device
	// channel; an empty token removes it. An unknown channel is
	// storage.ErrNotFound.
	StoreBootstrapToken(ctx context.Context, id string, token []byte) error
	// BootstrapToken returns the escrowed token, or storage.ErrNotFound
	// when there is none (or the channel is unknown).
	BootstrapToken(ctx context.Context, id string) ([]byte, error)
}

// Command is one MDM command as the queue keeps it.
type Command struct {
	// UUID is the CommandUUID in Raw; it identifies the command in every
	// queue it is in.
	UUID string
	// RequestType is Command.RequestType in Raw.
	RequestType string
	// Raw is the complete command property list sent to the device.
	Raw []byte
	// Priority orders a queue: higher first; equal priorities go in
	// enqueue order.
	Priority int
	// NotAfter, when set, is the time after which the command is no
	// longer delivered.
	NotAfter time.Time
	// EnqueuedAt is when the command was enqueued.
	EnqueuedAt time.Time
}

// CommandEnqueuer adds commands to queues.
type CommandEnqueuer interface {
	// Enqueue adds cmd to the queue of each enrollment in ids, in one
	// step: either every queue gets it or none does. ids must not be empty
	// and must not repeat. A command whose UUID is still stored (enqueued
	// to any enrollment and not yet pruned) is storage.ErrAlreadyExists. Enqueuing to an
	// enrollment the backend does not know is allowed; the command waits
	// for it.
	Enqueue(ctx context.Context, ids []string, cmd *Command) error
}

// CommandQueue is the device-facing side of the queue, used on every
// command report.
type CommandQueue interface {
	// NextCommand returns the command id should run next: of the commands
	// in its queue that have no result completing them (Acknowledged,
	// Error, CommandFormatError), are not cancelled, and whose NotAfter is
	// zero or not before now, the one with the highest Priority, then the
	// earliest enqueued. No such command is storage.ErrNotFound.
	//
	// skipNotNow is false for the report that opens a connection (the
	// device's Idle) and true for the reports that follow within it. When
	// it is false, the backend records now as the start of id's
	// connection, and commands answered NotNow are offered like any other.
	// When it is true, commands whose latest result is a NotNow reported
	// at or after the start of the connection are left out (every NotNow
	// command, when no connection start was recorded): a command the
	// device put off is not offered again until its next connection, while
	// commands it put off in earlier connections still are.
	NextCommand(ctx context.Context, id string, skipNotNow bool, now time.Time) (*Command, error)
	// StoreResult records a device's result for a command in its queue.
	// Acknowledged, Error and CommandFormatError complete the command for
	// that enrollment; NotNow leaves it queued. Storing a result again
	// replaces the earlier one (devices resend after a lost response),
	// except that a NotNow for a command already completed is ignored: a
	// completed command never returns to the queue. A command that is not
	// in id's queue (never enqueued to it, cancelled, cleared or pruned)
	// is storage.ErrNotFound and stores nothing. A result with status Idle
	// is an error.
	StoreResult(ctx context.Context, r *Result) error
	// ClearQueue cancels every command of id that has no completing
	// result and, when id is a device channel, those of its user channels
	// (Authenticate starts over). Results stay.
	ClearQueue(ctx context.Context, id string) error
}

// Result is a device's report on one command.
type Result struct {
	EnrollmentID string
	CommandUUID  string
	// RequestType is the command's, filled in by backends when listing.
	RequestType string
	Status      Status
	// Raw is the report body: the command's result.
	Raw []byte
	// ReportedAt is when the report arrived.
	ReportedAt time.Time
}

// QueuedCommand is a command in one enrollment's queue that no result has
// completed yet.
type QueuedCommand struct {
	Command
	// NotNowAt is the time of the latest NotNow, zero if none.
	NotNowAt time.Time
	// NotNowCount counts NotNow results for this command.
	NotNowCount int
}

// QueueViewer lets an admin look into and change one enrollment's queue.
type QueueViewer interface {
	// QueuedCommands lists id's commands that no result has completed
	// and that are not cancelled, including expired ones, in delivery
	// order (Priority, then enqueue order). An unknown id gives an empty
	// list.
	QueuedCommands(ctx context.Context, id string) ([]QueuedCommand, error)
	// Results lists id's stored results, newest first, at most limit
	// (limit <= 0 means 100); with uuid set, only that command's.
	Results(ctx context.Context, id, uuid string, limit int) ([]Result, error)
	// CancelCommand removes a command that no result has completed from
	// id's queue. A command that is not queued for id, or is already
	// completed, is storage.ErrNotFound.
	CancelCommand(ctx context.Context, id, uuid string) error
}

// ResultPruner bounds the history a backend keeps.
type ResultPruner interface {
	// PruneResults deletes the queue entries that are done with: entries
	// whose completing result was reported before `before` (with that
	// result), cancelled entries, and entries whose command expired
	// (NotAfter) before `before`, each with its result. Then it deletes
	// commands no queue entry refers to any more. Entries still pending
	// (not completed, not cancelled, not expired) are never deleted, nor is
	// their latest NotNow result. It returns the number of queue entries
	// deleted.
	PruneResults(ctx context.Context, before time.Time) (int, error)
}

// UnlockTokenStore returns the UnlockToken a device sent in TokenUpdate,
// which the ClearPasscode command needs. It is a secret: a backend should
// protect it at rest.
type UnlockTokenStore interface {
	// UnlockToken returns the latest UnlockToken of a device channel, or
	// storage.ErrNotFound when it has none (never sent one, or forgotten
	// at its latest Authenticate) or is unknown.
	UnlockToken(ctx context.Context, id string) ([]byte, error)
}

// CertAuthStore binds device identity certificates to enrollments.
// Certificates are named by the lower-case hex SHA-256 of their DER.
type CertAuthStore interface {
	// BindCertificate binds a certificate to a device-channel enrollment.
	// Binding it again to the same enrollment is nil; a certificate bound
	// to another enrollment is storage.ErrAlreadyExists and changes
	// nothing. An enrollment may have many certificates (renewals).
	BindCertificate(ctx context.Context, id, certHash string) error
	// CertificateEnrollment returns the enrollment a certificate is bound
	// to, or storage.ErrNotFound.
	CertificateEnrollment(ctx context.Context, certHash string) (string, error)
}
