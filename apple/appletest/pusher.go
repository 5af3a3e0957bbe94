package appletest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/apns"
)

// Pusher is an apple.Pusher that stands in for APNs: it delivers pushes to
// the devices registered with it and records them. The zero value is
// ready to use; set AutoPoll before the first Push. It is safe for
// concurrent use.
//
// A push is refused, as APNs would, with an *apns.Error result: 400
// BadDeviceToken for a token no registered channel has, 410 Unregistered
// for an erased device, 400 DeviceTokenNotForTopic for a topic that is not
// the device's. Refused pushes are not recorded. A push whose PushMagic is
// not the channel's is recorded but, as on a real device, wakes nothing.
type Pusher struct {
	// AutoPoll makes every delivered push wake its channel: its Poll
	// runs in a new goroutine. Wait waits for those sessions. Without
	// AutoPoll the test calls Poll itself.
	AutoPoll bool

	mu      sync.Mutex
	devices []*Device
	pushes  []apple.PushInfo
	count   map[string]int
	seq     uint64
	errs    []error
	wg      sync.WaitGroup
}

var _ apple.Pusher = (*Pusher)(nil)

// Register adds devices whose channels (the device channel and every user
// channel, present or future) receive pushes.
func (p *Pusher) Register(devices ...*Device) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.devices = append(p.devices, devices...)
}

// Push implements apple.Pusher: one result per push, in order. It fails as
// a whole only when ctx has ended.
func (p *Pusher) Push(ctx context.Context, pushes []apple.PushInfo) ([]apple.PushResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]apple.PushResult, len(pushes))
	for i, pi := range pushes {
		out[i] = p.deliver(pi)
	}
	return out, nil
}

func (p *Pusher) deliver(pi apple.PushInfo) apple.PushResult {
	res := apple.PushResult{EnrollmentID: pi.EnrollmentID}
	d, ch := p.find(pi.Token)
	switch {
	case ch == nil:
		res.Err = &apns.Error{Status: http.StatusBadRequest, Reason: apns.ReasonBadDeviceToken}
		return res
	case d.Erased():
		res.Err = &apns.Error{Status: http.StatusGone, Reason: apns.ReasonUnregistered, Timestamp: d.clock()}
		return res
	case pi.Topic != d.Topic():
		res.Err = &apns.Error{Status: http.StatusBadRequest, Reason: apns.ReasonDeviceTokenNotForTopic}
		return res
	}
	p.mu.Lock()
	p.seq++
	res.ID = fmt.Sprintf("00000000-0000-4000-8000-%012X", p.seq)
	pi.Token = append([]byte(nil), pi.Token...)
	p.pushes = append(p.pushes, pi)
	if p.count == nil {
		p.count = make(map[string]int)
	}
	p.count[pi.EnrollmentID]++
	wake := p.AutoPoll && pi.PushMagic == ch.magic
	if wake {
		p.wg.Add(1)
	}
	p.mu.Unlock()
	if wake {
		go func() {
			defer p.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := ch.poll(ctx); err != nil {
				p.mu.Lock()
				p.errs = append(p.errs, fmt.Errorf("appletest: poll of %s after a push: %w", pi.EnrollmentID, err))
				p.mu.Unlock()
			}
		}()
	}
	return res
}

// find returns the channel whose push token is token.
func (p *Pusher) find(token []byte) (*Device, *channel) {
	p.mu.Lock()
	devices := append([]*Device(nil), p.devices...)
	p.mu.Unlock()
	for _, d := range devices {
		if bytes.Equal(d.dev.token, token) {
			return d, &d.dev
		}
		for _, u := range d.userChannels() {
			if bytes.Equal(u.ch.token, token) {
				return d, &u.ch
			}
		}
	}
	return nil, nil
}

// Pushes returns the pushes delivered so far, in order.
func (p *Pusher) Pushes() []apple.PushInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]apple.PushInfo(nil), p.pushes...)
}

// Pushed returns how many pushes were delivered to an enrollment ID.
func (p *Pusher) Pushed(enrollmentID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count[enrollmentID]
}

// Wait waits until every Poll that AutoPoll started has ended and returns
// their errors, joined, forgetting them.
func (p *Pusher) Wait() error {
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	err := errors.Join(p.errs...)
	p.errs = nil
	return err
}
