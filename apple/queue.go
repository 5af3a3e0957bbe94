package apple

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mdmkit/mdmkit/internal/plist"
)

// QueueOptions configure a Queue. The zero value is usable: pushes are off.
type QueueOptions struct {
	// Pusher sends the pushes; nil means Enqueue never pushes and Push
	// fails with ErrPushDisabled.
	Pusher Pusher
	// PushInfo finds the push info of enrollments; required with Pusher.
	PushInfo PushInfoStore
	// MaxEnrollments bounds the IDs of one Enqueue or Push; zero means
	// 100000.
	MaxEnrollments int
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

// ErrPushDisabled is returned by Queue.Push when no Pusher is configured.
var ErrPushDisabled = errors.New("apple: pushes are not configured")

// Queue is how a host sends commands: it enqueues a command to many
// enrollments and pushes them so they check in. It holds no state and is
// safe for concurrent use.
type Queue struct {
	enq      CommandEnqueuer
	pusher   Pusher
	pushInfo PushInfoStore
	max      int
	clock    func() time.Time
}

// NewQueue returns a Queue over a CommandEnqueuer.
func NewQueue(enq CommandEnqueuer, opts *QueueOptions) (*Queue, error) {
	if enq == nil {
		return nil, errors.New("apple: NewQueue needs a CommandEnqueuer")
	}
	if opts == nil {
		opts = &QueueOptions{}
	}
	q := &Queue{enq: enq, pusher: opts.Pusher, pushInfo: opts.PushInfo, max: opts.MaxEnrollments, clock: opts.Clock}
	if q.pusher != nil && q.pushInfo == nil {
		return nil, errors.New("apple: a Pusher needs a PushInfoStore")
	}
	if q.max <= 0 {
		q.max = 100000
	}
	if q.clock == nil {
		q.clock = time.Now
	}
	return q, nil
}

// EnqueueOptions tune one Enqueue. The zero value enqueues at priority 0,
// without expiry, and pushes.
type EnqueueOptions struct {
	// Priority: higher runs first.
	Priority int
	// TTL, when positive, makes the command expire that long after it is
	// enqueued.
	TTL time.Duration
	// NoPush enqueues without pushing; the command waits for the device's
	// next check-in.
	NoPush bool
}

// EnqueueResult reports what Enqueue did.
type EnqueueResult struct {
	Command *Command
	// Pushes has one result per enrollment that had push info; nil when
	// nothing was pushed.
	Pushes []PushResult
}

// Enqueue validates a command property list (it must have a CommandUUID
// and a Command dict with a RequestType), adds it to the queue of every
// enrollment in ids, and, unless told not to, pushes them. A push failure
// does not undo the enqueue; it is reported in the result.
func (q *Queue) Enqueue(ctx context.Context, ids []string, raw []byte, opts *EnqueueOptions) (*EnqueueResult, error) {
	if opts == nil {
		opts = &EnqueueOptions{}
	}
	ids, err := q.checkIDs(ids)
	if err != nil {
		return nil, err
	}
	cmd, err := ParseCommand(raw)
	if err != nil {
		return nil, err
	}
	cmd.Priority = opts.Priority
	cmd.EnqueuedAt = q.clock()
	if opts.TTL > 0 {
		cmd.NotAfter = cmd.EnqueuedAt.Add(opts.TTL)
	}
	if err := q.enq.Enqueue(ctx, ids, cmd); err != nil {
		return nil, fmt.Errorf("apple: enqueue: %w", err)
	}
	res := &EnqueueResult{Command: cmd}
	if !opts.NoPush && q.pusher != nil {
		// The command is queued; pushing is best effort and must finish
		// even if the caller's request ends.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		res.Pushes, _ = q.push(pctx, ids)
	}
	return res, nil
}

// Push wakes the given enrollments so they check in. Enrollments without
// push info (unknown, inactive, or never sent a TokenUpdate) are left out
// of the results.
func (q *Queue) Push(ctx context.Context, ids []string) ([]PushResult, error) {
	if q.pusher == nil {
		return nil, ErrPushDisabled
	}
	ids, err := q.checkIDs(ids)
	if err != nil {
		return nil, err
	}
	return q.push(ctx, ids)
}

func (q *Queue) push(ctx context.Context, ids []string) ([]PushResult, error) {
	infos, err := q.pushInfo.PushInfo(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("apple: push info: %w", err)
	}
	if len(infos) == 0 {
		return nil, nil
	}
	pushes := make([]PushInfo, 0, len(infos))
	for _, id := range ids {
		if pi, ok := infos[id]; ok {
			pi.EnrollmentID = id
			pushes = append(pushes, pi)
		}
	}
	return q.pusher.Push(ctx, pushes)
}

func (q *Queue) checkIDs(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, errors.New("apple: no enrollment IDs")
	}
	if len(ids) > q.max {
		return nil, fmt.Errorf("apple: %d enrollment IDs, more than %d", len(ids), q.max)
	}
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == "" {
			return nil, errors.New("apple: empty enrollment ID")
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		out = append(out, id)
	}
	return out, nil
}

// commandWire is what ParseCommand needs of a command property list.
type commandWire struct {
	CommandUUID string `plist:"CommandUUID"`
	Command     struct {
		RequestType string `plist:"RequestType"`
	} `plist:"Command"`
}

// maxCommandSize bounds a command property list: InstallProfile and
// InstallEnterpriseApplication carry payloads, but megabytes are a mistake.
const maxCommandSize = 4 << 20

// ParseCommand reads the CommandUUID and RequestType of a command property
// list, checking that it is one. Errors wrap ErrMalformed.
func ParseCommand(raw []byte) (*Command, error) {
	if len(raw) > maxCommandSize {
		return nil, fmt.Errorf("%w: command larger than %d bytes", ErrMalformed, maxCommandSize)
	}
	var w commandWire
	if err := plist.UnmarshalLimits(raw, &w, messageLimits); err != nil {
		return nil, fmt.Errorf("%w: command: %v", ErrMalformed, err)
	}
	switch {
	case w.CommandUUID == "":
		return nil, fmt.Errorf("%w: command without CommandUUID", ErrMalformed)
	case len(w.CommandUUID) > maxCommandUUID:
		return nil, fmt.Errorf("%w: CommandUUID longer than %d bytes", ErrMalformed, maxCommandUUID)
	case w.Command.RequestType == "":
		return nil, fmt.Errorf("%w: command without Command.RequestType", ErrMalformed)
	}
	return &Command{UUID: w.CommandUUID, RequestType: w.Command.RequestType, Raw: append([]byte(nil), raw...)}, nil
}
