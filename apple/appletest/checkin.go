package appletest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/internal/plist"
)

// checkin sends one check-in message to the check-in URL.
func (c *channel) checkin(ctx context.Context, msg any) ([]byte, error) {
	body, err := apple.EncodeCheckin(msg)
	if err != nil {
		return nil, fmt.Errorf("appletest: %w", err)
	}
	_, url := c.d.urls()
	return c.d.send(ctx, url, apple.CheckinContentType, body)
}

func (c *channel) tokenUpdate(ctx context.Context) error {
	_, err := c.checkin(ctx, &apple.TokenUpdate{
		Enrollment: c.enr, Topic: c.d.Topic(), Token: c.token, PushMagic: c.magic,
		UserConfiguration: c.user,
	})
	return err
}

// Authenticate sends Authenticate with the device's facts: the first
// message of an enrollment, which the server answers by forgetting any
// earlier enrollment of the device and binding the identity certificate
// to it.
func (d *Device) Authenticate(ctx context.Context) error {
	d.mu.Lock()
	topic := d.topic
	d.mu.Unlock()
	_, err := d.dev.checkin(ctx, &apple.Authenticate{
		Enrollment: d.dev.enr, Topic: topic, BuildVersion: d.buildVersion, OSVersion: d.osVersion,
		ProductName: d.productName, Model: d.model, ModelName: d.modelName, DeviceName: d.devName,
		SerialNumber: d.serial,
	})
	return err
}

// TokenUpdate sends the device channel's push token and PushMagic. The
// first one after Authenticate completes the enrollment.
func (d *Device) TokenUpdate(ctx context.Context) error { return d.dev.tokenUpdate(ctx) }

// CheckOut tells the server the device is leaving management, as a device
// does when its MDM profile is removed.
func (d *Device) CheckOut(ctx context.Context) error {
	d.mu.Lock()
	topic := d.topic
	d.mu.Unlock()
	_, err := d.dev.checkin(ctx, &apple.CheckOut{Enrollment: d.dev.enr, Topic: topic})
	return err
}

// SetBootstrapToken escrows a bootstrap token with the server; an empty
// token asks the server to forget it.
func (d *Device) SetBootstrapToken(ctx context.Context, token []byte) error {
	_, err := d.dev.checkin(ctx, &apple.SetBootstrapToken{Enrollment: d.dev.enr, BootstrapToken: token})
	return err
}

// GetBootstrapToken asks the server for the escrowed bootstrap token. No
// token escrowed gives nil and no error.
func (d *Device) GetBootstrapToken(ctx context.Context) ([]byte, error) {
	body, err := d.dev.checkin(ctx, &apple.GetBootstrapToken{Enrollment: d.dev.enr})
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return nil, err
	}
	var bt apple.BootstrapToken
	if err := plist.Unmarshal(body, &bt); err != nil {
		return nil, fmt.Errorf("appletest: GetBootstrapToken response: %w", err)
	}
	return bt.BootstrapToken, nil
}

// DeclarativeManagement sends a Declarative Device Management request for
// endpoint ("tokens", "declaration-items", "status",
// "declaration/<type>/<identifier>") with data (the JSON of a status
// report, or nil) and returns the response body.
func (d *Device) DeclarativeManagement(ctx context.Context, endpoint string, data []byte) ([]byte, error) {
	return d.dev.checkin(ctx, &apple.DeclarativeManagement{Enrollment: d.dev.enr, Endpoint: endpoint, Data: data})
}

// GetToken asks the server for a token of serviceType (for example
// "com.apple.maid") and returns the TokenData of the response.
func (d *Device) GetToken(ctx context.Context, serviceType string, params map[string]any) ([]byte, error) {
	body, err := d.dev.checkin(ctx, &apple.GetToken{Enrollment: d.dev.enr, TokenServiceType: serviceType, TokenParameters: params})
	if err != nil {
		return nil, err
	}
	var gt apple.GetTokenResponse
	if err := plist.Unmarshal(body, &gt); err != nil {
		return nil, fmt.Errorf("appletest: GetToken response: %w", err)
	}
	return gt.TokenData, nil
}

// UserChannel is the channel of one macOS user on a Device: it has its own
// push token, PushMagic, queue and installed profiles, and shares the
// device's identity certificate and server URLs. Its command handlers and
// NotNow answers are its own. It is safe for concurrent use.
type UserChannel struct {
	ch channel
}

// User returns the channel of the macOS user with the given UserID (a
// UUID; the user's GeneratedUID on a real Mac), short name and long name.
// Asking again for the same UserID returns the same channel; the names of
// the first call stick. The channel sends nothing until Enroll.
func (d *Device) User(userID, shortName, longName string) (*UserChannel, error) {
	if userID == "" {
		return nil, errors.New("appletest: a user channel needs a UserID")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if u, ok := d.users[userID]; ok {
		return u, nil
	}
	if longName == "" {
		longName = shortName
	}
	u := &UserChannel{}
	u.ch.init(d, apple.Enrollment{UDID: d.udid, UserID: userID, UserShortName: shortName, UserLongName: longName})
	u.ch.user = true
	var err error
	if u.ch.token, err = randomBytes(d.rand, 32); err != nil {
		return nil, err
	}
	if u.ch.magic, err = newUUID(d.rand); err != nil {
		return nil, err
	}
	d.users[userID] = u
	return u, nil
}

// userChannels returns the device's user channels.
func (d *Device) userChannels() []*UserChannel {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*UserChannel, 0, len(d.users))
	for _, u := range d.users {
		out = append(out, u)
	}
	return out
}

// ID returns the channel's enrollment ID under apple.DefaultID:
// "UDID:UserID".
func (u *UserChannel) ID() string { return u.ch.enr.UDID + ":" + u.ch.enr.UserID }

// UserID returns the user's UserID.
func (u *UserChannel) UserID() string { return u.ch.enr.UserID }

// PushToken returns the APNs token of the user channel.
func (u *UserChannel) PushToken() []byte { return append([]byte(nil), u.ch.token...) }

// PushMagic returns the PushMagic of the user channel.
func (u *UserChannel) PushMagic() string { return u.ch.magic }

// Enroll creates the user channel as macOS does when the user logs in:
// UserAuthenticate, then the channel's first TokenUpdate. A server that
// declines UserAuthenticate (410), or accepts it with an empty or empty
// DigestChallenge answer, lets the channel go on; a DigestChallenge that
// needs the user's password is an error, because the simulated user has
// none.
func (u *UserChannel) Enroll(ctx context.Context) error {
	body, err := u.ch.checkin(ctx, &apple.UserAuthenticate{Enrollment: u.ch.enr})
	var he *HTTPError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusGone:
	case err != nil:
		return err
	case len(bytes.TrimSpace(body)) > 0:
		var dc struct {
			DigestChallenge string `plist:"DigestChallenge"`
		}
		if err := plist.Unmarshal(body, &dc); err != nil {
			return fmt.Errorf("appletest: UserAuthenticate response: %w", err)
		}
		if dc.DigestChallenge != "" {
			return errors.New("appletest: the server sent a DigestChallenge; the simulated user has no password to answer it")
		}
	}
	return u.ch.tokenUpdate(ctx)
}

// TokenUpdate sends the user channel's push token, with UserConfiguration
// true as macOS does.
func (u *UserChannel) TokenUpdate(ctx context.Context) error { return u.ch.tokenUpdate(ctx) }

// Poll runs a command session on the user channel; see Device.Poll.
func (u *UserChannel) Poll(ctx context.Context) ([]Executed, error) { return u.ch.poll(ctx) }

// Handle overrides the user channel's answer to a command type; see
// Device.Handle.
func (u *UserChannel) Handle(requestType string, fn CommandFunc) { u.ch.handle(requestType, fn) }

// NotNow makes the user channel answer NotNow; see Device.NotNow.
func (u *UserChannel) NotNow(requestType string, times int) { u.ch.setNotNow(requestType, times) }

// Profiles returns the identifiers of the profiles installed on the user
// channel.
func (u *UserChannel) Profiles() []string { return u.ch.profileIDs() }
