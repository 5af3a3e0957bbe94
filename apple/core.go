package apple

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mdmkit/mdmkit/storage"
)

// UserAuthenticator decides on UserAuthenticate messages. It returns the
// response body: a DigestChallenge plist to start the two-step exchange,
// or an empty body to accept. Returning ErrDeclined answers 410.
type UserAuthenticator interface {
	UserAuthenticate(ctx context.Context, r *Request, m *UserAuthenticate) ([]byte, error)
}

// UserAuthenticatorFunc adapts a function to UserAuthenticator.
type UserAuthenticatorFunc func(ctx context.Context, r *Request, m *UserAuthenticate) ([]byte, error)

// UserAuthenticate calls f.
func (f UserAuthenticatorFunc) UserAuthenticate(ctx context.Context, r *Request, m *UserAuthenticate) ([]byte, error) {
	return f(ctx, r, m)
}

// TokenHandler answers GetToken for one service type.
type TokenHandler interface {
	GetToken(ctx context.Context, r *Request, m *GetToken) (*GetTokenResponse, error)
}

// TokenHandlerFunc adapts a function to TokenHandler.
type TokenHandlerFunc func(ctx context.Context, r *Request, m *GetToken) (*GetTokenResponse, error)

// GetToken calls f.
func (f TokenHandlerFunc) GetToken(ctx context.Context, r *Request, m *GetToken) (*GetTokenResponse, error) {
	return f(ctx, r, m)
}

// CoreOptions configure a Core. The zero value is usable.
type CoreOptions struct {
	// BootstrapTokens escrows bootstrap tokens. Nil means the check-in
	// store when it implements BootstrapTokenStore; otherwise
	// SetBootstrapToken and GetBootstrapToken are ErrNotSupported.
	BootstrapTokens BootstrapTokenStore
	// UserAuthenticate decides on UserAuthenticate; nil declines every
	// one (410), which makes macOS create the user channel without
	// server authentication.
	UserAuthenticate UserAuthenticator
	// TokenHandlers answer GetToken by TokenServiceType; a type without a
	// handler is ErrNotSupported (400), as Apple specifies.
	TokenHandlers map[string]TokenHandler
	// Declarative answers DeclarativeManagement check-ins (package ddm
	// provides one); nil means ErrNotSupported.
	Declarative Declarative
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives a line for results that match no queued command;
	// nil means silent.
	Logger *slog.Logger
}

// Core is the standard Service: it keeps enrollment state and the command
// queue in storage. It holds no state of its own and is safe for
// concurrent use.
type Core struct {
	checkins  CheckinStore
	queue     CommandQueue
	bootstrap BootstrapTokenStore
	userAuth  UserAuthenticator
	tokens    map[string]TokenHandler
	ddm       Declarative
	clock     func() time.Time
	log       *slog.Logger
}

var _ Service = (*Core)(nil)

// NewCore returns a Core over the given stores.
func NewCore(checkins CheckinStore, queue CommandQueue, opts *CoreOptions) (*Core, error) {
	if checkins == nil || queue == nil {
		return nil, errors.New("apple: NewCore needs a CheckinStore and a CommandQueue")
	}
	if opts == nil {
		opts = &CoreOptions{}
	}
	c := &Core{
		checkins:  checkins,
		queue:     queue,
		bootstrap: opts.BootstrapTokens,
		userAuth:  opts.UserAuthenticate,
		tokens:    make(map[string]TokenHandler, len(opts.TokenHandlers)),
		ddm:       opts.Declarative,
		clock:     opts.Clock,
		log:       opts.Logger,
	}
	if c.bootstrap == nil {
		c.bootstrap, _ = checkins.(BootstrapTokenStore)
	}
	for k, v := range opts.TokenHandlers {
		if v == nil {
			return nil, fmt.Errorf("apple: nil TokenHandler for %q", k)
		}
		c.tokens[k] = v
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	if c.log == nil {
		c.log = slog.New(discardHandler{})
	}
	return c, nil
}

// Authenticate records the device, leaves it inactive until its
// TokenUpdate, and clears its queue (and its user channels' queues): a
// device that authenticates again is starting a new enrollment.
func (c *Core) Authenticate(ctx context.Context, r *Request, m *Authenticate) error {
	if r.ID.Type.IsUserChannel() {
		return fmt.Errorf("%w: Authenticate on a user channel", ErrMalformed)
	}
	if err := c.checkins.StoreAuthenticate(ctx, r.ID, m, c.clock()); err != nil {
		return fmt.Errorf("apple: storing Authenticate: %w", err)
	}
	if err := c.queue.ClearQueue(ctx, r.ID.ID); err != nil {
		return fmt.Errorf("apple: clearing queue: %w", err)
	}
	return nil
}

// TokenUpdate activates the channel and stores its push info. The result
// says whether this was the channel's first TokenUpdate.
func (c *Core) TokenUpdate(ctx context.Context, r *Request, m *TokenUpdate) (TokenUpdateResult, error) {
	n, err := c.checkins.StoreTokenUpdate(ctx, r.ID, m, c.clock())
	if errors.Is(err, storage.ErrNotFound) {
		return TokenUpdateResult{}, fmt.Errorf("%w: TokenUpdate before Authenticate", ErrNotEnrolled)
	}
	if err != nil {
		return TokenUpdateResult{}, fmt.Errorf("apple: storing TokenUpdate: %w", err)
	}
	return TokenUpdateResult{TokenUpdates: n}, nil
}

// CheckOut deactivates the channel and, for a device, its user channels.
func (c *Core) CheckOut(ctx context.Context, r *Request, m *CheckOut) error {
	err := c.checkins.Disable(ctx, r.ID.ID, c.clock())
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: CheckOut", ErrNotEnrolled)
	}
	if err != nil {
		return fmt.Errorf("apple: disabling enrollment: %w", err)
	}
	return nil
}

// UserAuthenticate asks the UserAuthenticator, or declines.
func (c *Core) UserAuthenticate(ctx context.Context, r *Request, m *UserAuthenticate) ([]byte, error) {
	if c.userAuth == nil {
		return nil, ErrDeclined
	}
	return c.userAuth.UserAuthenticate(ctx, r, m)
}

// SetBootstrapToken escrows (or, when empty, removes) the token of the
// device channel.
func (c *Core) SetBootstrapToken(ctx context.Context, r *Request, m *SetBootstrapToken) error {
	if c.bootstrap == nil {
		return fmt.Errorf("%w: bootstrap token escrow", ErrNotSupported)
	}
	if r.ID.Type.IsUserChannel() {
		return fmt.Errorf("%w: SetBootstrapToken on a user channel", ErrMalformed)
	}
	err := c.bootstrap.StoreBootstrapToken(ctx, r.ID.ID, m.BootstrapToken)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: SetBootstrapToken", ErrNotEnrolled)
	}
	if err != nil {
		return fmt.Errorf("apple: storing bootstrap token: %w", err)
	}
	return nil
}

// GetBootstrapToken returns the escrowed token of the device channel; none
// escrowed gives an empty response.
func (c *Core) GetBootstrapToken(ctx context.Context, r *Request, m *GetBootstrapToken) (*BootstrapToken, error) {
	if c.bootstrap == nil {
		return nil, fmt.Errorf("%w: bootstrap token escrow", ErrNotSupported)
	}
	tok, err := c.bootstrap.BootstrapToken(ctx, r.ID.DeviceID())
	if errors.Is(err, storage.ErrNotFound) {
		return &BootstrapToken{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("apple: reading bootstrap token: %w", err)
	}
	return &BootstrapToken{BootstrapToken: tok}, nil
}

// GetToken dispatches to the TokenHandler of the service type.
func (c *Core) GetToken(ctx context.Context, r *Request, m *GetToken) (*GetTokenResponse, error) {
	h, ok := c.tokens[m.TokenServiceType]
	if !ok {
		return nil, fmt.Errorf("%w: GetToken service type %q", ErrNotSupported, truncate(m.TokenServiceType, 64))
	}
	return h.GetToken(ctx, r, m)
}

// DeclarativeManagement hands the request to the DDM handler.
func (c *Core) DeclarativeManagement(ctx context.Context, r *Request, m *DeclarativeManagement) ([]byte, error) {
	if c.ddm == nil {
		return nil, fmt.Errorf("%w: Declarative Device Management", ErrNotSupported)
	}
	return c.ddm.DeclarativeManagement(ctx, r, m)
}

// CommandReport stores the result (unless the report is Idle) and returns
// the next command. A device opens each connection with Idle; a command it
// answers NotNow is not offered again until its next Idle, so the rest of
// the queue still runs and the NotNow command is retried when the device
// next wakes.
func (c *Core) CommandReport(ctx context.Context, r *Request, rep *Report) (*Command, error) {
	now := c.clock()
	if rep.Status != StatusIdle {
		err := c.queue.StoreResult(ctx, &Result{
			EnrollmentID: r.ID.ID, CommandUUID: rep.CommandUUID, Status: rep.Status,
			Raw: rep.Raw, ReportedAt: now,
		})
		switch {
		case errors.Is(err, storage.ErrNotFound):
			// A result for a command that was cancelled or never sent to
			// this channel: nothing to record, but the device still gets
			// its next command.
			c.log.InfoContext(ctx, "apple: result for a command not queued", "id", r.ID.ID, "command", rep.CommandUUID, "status", string(rep.Status))
		case err != nil:
			return nil, fmt.Errorf("apple: storing result: %w", err)
		}
	}
	cmd, err := c.queue.NextCommand(ctx, r.ID.ID, rep.Status != StatusIdle, now)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("apple: next command: %w", err)
	}
	return cmd, nil
}
