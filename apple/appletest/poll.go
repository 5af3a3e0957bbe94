package appletest

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/internal/plist"
)

// Command is a command the server sent, as a CommandFunc sees it.
type Command struct {
	// UUID is the CommandUUID.
	UUID string
	// RequestType is Command.RequestType.
	RequestType string
	// Params is the Command dictionary, RequestType included, with values
	// decoded as property list values (string, int64, float64, bool,
	// []byte, time.Time, []any, map[string]any).
	Params map[string]any
	// Raw is the command as received.
	Raw []byte
}

// CommandFunc decides a channel's answer to a command: the status
// (Acknowledged, Error, CommandFormatError or NotNow; empty means
// Acknowledged), and the keys the result carries besides Status,
// CommandUUID and the channel's identifying keys, which it cannot replace
// (for example "QueryResponses"). An Error answer without an "ErrorChain"
// key gets a generic one.
type CommandFunc func(cmd *Command) (apple.Status, map[string]any)

// Executed is one command a channel ran during a Poll.
type Executed struct {
	CommandUUID string
	RequestType string
	// Status is the answer the channel reported.
	Status apple.Status
	// Report is the body the channel sent: the command's result.
	Report []byte
}

// channel is the state of one enrollment channel of a device: its keys,
// push token, profiles and command behaviour.
type channel struct {
	d     *Device
	enr   apple.Enrollment
	user  bool
	token []byte
	magic string

	// pollMu makes the sessions of one channel run one at a time.
	pollMu sync.Mutex

	// Guarded by d.mu.
	profiles []*installedProfile
	handlers map[string]CommandFunc
	notNow   map[string]int
}

func (c *channel) init(d *Device, enr apple.Enrollment) {
	c.d = d
	c.enr = enr
	c.handlers = make(map[string]CommandFunc)
	c.notNow = make(map[string]int)
}

// Poll runs one command session, as a device does when a push wakes it:
// it reports Idle to the server URL, runs the command the server answers
// with, reports the result, and so on until the server answers with an
// empty body. It returns the commands it ran, in order. A command the
// channel answers NotNow is not offered again in the same session by a
// conforming server; it comes back at the next Poll.
//
// Poll stops with an error when the server refuses a report (*HTTPError),
// sends something that is not a command, or sends more than
// Options.MaxCommands commands; Executed then holds what ran before. After
// acknowledging EraseDevice the device stops at once and is erased.
func (d *Device) Poll(ctx context.Context) ([]Executed, error) { return d.dev.poll(ctx) }

// Handle makes the device channel answer commands of requestType with fn
// instead of its built-in behaviour; a nil fn restores the built-in one.
// Commands of unknown types are answered Error unless handled.
func (d *Device) Handle(requestType string, fn CommandFunc) { d.dev.handle(requestType, fn) }

// NotNow makes the device channel answer NotNow the next times commands of
// requestType arrive, before any handler runs; an empty requestType means
// any command. NotNow(t, 0) cancels what is left.
func (d *Device) NotNow(requestType string, times int) { d.dev.setNotNow(requestType, times) }

func (c *channel) handle(requestType string, fn CommandFunc) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if fn == nil {
		delete(c.handlers, requestType)
		return
	}
	c.handlers[requestType] = fn
}

func (c *channel) setNotNow(requestType string, times int) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if times <= 0 {
		delete(c.notNow, requestType)
		return
	}
	c.notNow[requestType] = times
}

func (c *channel) poll(ctx context.Context) ([]Executed, error) {
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	body, err := apple.EncodeReport(&apple.Report{Enrollment: c.enr, Status: apple.StatusIdle})
	if err != nil {
		return nil, fmt.Errorf("appletest: %w", err)
	}
	url, _ := c.d.urls()
	var done []Executed
	for {
		resp, err := c.d.send(ctx, url, reportContentType, body)
		if err != nil {
			return done, err
		}
		if len(bytes.TrimSpace(resp)) == 0 {
			return done, nil
		}
		if len(done) == c.d.maxCommands {
			return done, fmt.Errorf("appletest: the server sent more than %d commands in one session", c.d.maxCommands)
		}
		ex, erase, err := c.execute(resp)
		if err != nil {
			return done, err
		}
		done = append(done, ex)
		body = ex.Report
		if erase {
			// The device acknowledges, then wipes itself: the server's
			// answer to the acknowledgement never arrives.
			_, err := c.d.send(ctx, url, reportContentType, body)
			if err == nil {
				c.d.mu.Lock()
				c.d.erased = true
				c.d.mu.Unlock()
			}
			return done, err
		}
	}
}

// commandWire is what a channel reads of a command before running it.
type commandWire struct {
	CommandUUID string    `plist:"CommandUUID"`
	Command     plist.Raw `plist:"Command"`
}

// commandLimits bound a command: InstallProfile carries a payload of up to
// a few MiB.
var commandLimits = plist.Limits{MaxDepth: 32, MaxValues: 200000, MaxValueBytes: 8 << 20}

// execute runs one command and builds the report. erase is true for an
// acknowledged EraseDevice.
func (c *channel) execute(body []byte) (ex Executed, erase bool, err error) {
	var w commandWire
	if err := plist.UnmarshalLimits(body, &w, commandLimits); err != nil {
		return ex, false, fmt.Errorf("appletest: the server sent something that is not a command: %w", err)
	}
	if w.CommandUUID == "" {
		return ex, false, fmt.Errorf("appletest: the server sent a command without CommandUUID")
	}
	cmd := &Command{UUID: w.CommandUUID, Raw: body}
	var status apple.Status
	var result map[string]any
	if len(w.Command) == 0 || plist.UnmarshalLimits(w.Command, &cmd.Params, commandLimits) != nil {
		status = apple.StatusCommandFormatError
	} else if rt, _ := cmd.Params["RequestType"].(string); rt == "" {
		status = apple.StatusCommandFormatError
	} else {
		cmd.RequestType = rt
		status, result = c.run(cmd)
	}
	report, err := c.report(cmd.UUID, status, result)
	if err != nil {
		return ex, false, err
	}
	ex = Executed{CommandUUID: cmd.UUID, RequestType: cmd.RequestType, Status: status, Report: report}
	return ex, status == apple.StatusAcknowledged && cmd.RequestType == "EraseDevice" && !c.user, nil
}

// run decides the answer: NotNow on demand, then the host's handler, then
// the built-in behaviour.
func (c *channel) run(cmd *Command) (apple.Status, map[string]any) {
	c.d.mu.Lock()
	fn := c.handlers[cmd.RequestType]
	notNow := false
	for _, k := range []string{cmd.RequestType, ""} {
		if n := c.notNow[k]; n > 0 {
			if n == 1 {
				delete(c.notNow, k)
			} else {
				c.notNow[k] = n - 1
			}
			notNow = true
			break
		}
	}
	c.d.mu.Unlock()
	switch {
	case notNow:
		return apple.StatusNotNow, nil
	case fn != nil:
		st, res := fn(cmd)
		if st == "" {
			st = apple.StatusAcknowledged
		}
		return st, res
	}
	return c.builtin(cmd)
}

// report builds the result body: the channel's identifying keys, the
// status, and the result keys (which cannot replace the first two).
func (c *channel) report(uuid string, status apple.Status, result map[string]any) ([]byte, error) {
	m := make(map[string]any, len(result)+6)
	for k, v := range result {
		m[k] = v
	}
	if status == apple.StatusError {
		if _, ok := m["ErrorChain"]; !ok {
			m["ErrorChain"] = errorChain(errCodeGeneric, errDomainMDM, "The command could not be completed.")
		}
	}
	for k, v := range map[string]string{
		"UDID": c.enr.UDID, "UserID": c.enr.UserID, "UserShortName": c.enr.UserShortName,
		"UserLongName": c.enr.UserLongName,
	} {
		if v != "" {
			m[k] = v
		} else {
			delete(m, k)
		}
	}
	m["Status"] = string(status)
	m["CommandUUID"] = uuid
	body, err := plist.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("appletest: encoding the result of %s: %w", uuid, err)
	}
	return body, nil
}
