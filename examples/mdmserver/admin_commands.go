package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/apns"
	"github.com/mdmkit/mdmkit/apple/command"
	"github.com/mdmkit/mdmkit/storage"
)

// The admin API's command endpoints: enqueue (a typed command by name with
// JSON arguments, or a raw command plist) and push.

// plistTypes are the media types of a raw command plist body.
var plistTypes = map[string]bool{
	"application/x-apple-aspen-mdm": true,
	"application/xml":               true,
	"text/xml":                      true,
}

// maxTTLSeconds bounds ttl_seconds: ten years.
const maxTTLSeconds = 10 * 365 * 24 * 60 * 60

// pushTimeout bounds the pushes of one request. They run on after the
// client goes away: the command is queued, and the push should finish.
const pushTimeout = 30 * time.Second

// enqueueRequest is the JSON body of the enqueue endpoints. A command is
// either RequestType with Args (built by apple/command) or Plist.
type enqueueRequest struct {
	// EnrollmentIDs is for POST /v1/commands only.
	EnrollmentIDs []string        `json:"enrollment_ids"`
	RequestType   string          `json:"request_type"`
	Args          json.RawMessage `json:"args"`
	// CommandUUID chooses the typed command's CommandUUID; empty means a
	// random one.
	CommandUUID string `json:"command_uuid"`
	Plist       string `json:"plist"`
	Priority    int    `json:"priority"`
	TTLSeconds  int64  `json:"ttl_seconds"`
	NoPush      bool   `json:"no_push"`
}

// enqueueResponse says what was queued and what the push did.
type enqueueResponse struct {
	CommandUUID   string   `json:"command_uuid"`
	RequestType   string   `json:"request_type"`
	EnrollmentIDs []string `json:"enrollment_ids"`
	// Push is "sent" (see Pushes), "skipped" (no_push) or "off" (APNs
	// is not configured).
	Push   string           `json:"push"`
	Pushes []pushResultJSON `json:"pushes"`
}

// pushResultJSON is an apple.PushResult on the wire.
type pushResultJSON struct {
	EnrollmentID string `json:"enrollment_id"`
	// APNsID is the apns-id of an accepted push.
	APNsID string `json:"apns_id,omitempty"`
	Error  string `json:"error,omitempty"`
	// Permanent: retrying cannot help until something changes.
	Permanent bool `json:"permanent,omitempty"`
	// DeviceTokenInvalid: APNs no longer knows the device's token; it
	// must send a new TokenUpdate (enroll again) to be reached.
	DeviceTokenInvalid bool `json:"device_token_invalid,omitempty"`
}

func pushResultsOut(results []apple.PushResult) []pushResultJSON {
	out := make([]pushResultJSON, 0, len(results))
	for _, r := range results {
		p := pushResultJSON{EnrollmentID: r.EnrollmentID, APNsID: r.ID}
		if r.Err != nil {
			// The pusher is apple/apns, whose errors name APNs' reason
			// and carry no secrets: the admin needs them.
			p.Error = r.Err.Error()
			p.Permanent = apns.IsPermanent(r.Err)
			var ae *apns.Error
			p.DeviceTokenInvalid = errors.As(r.Err, &ae) && ae.DeviceTokenInvalid()
		}
		out = append(out, p)
	}
	return out
}

// enqueue serves POST /v1/enrollments/{id}/commands (pathID set) and
// POST /v1/commands.
func (a *adminAPI) enqueue(w http.ResponseWriter, r *http.Request, pathID string) error {
	if pathID != "" {
		if _, err := a.enrollment(r, pathID); err != nil {
			return err
		}
	}
	var (
		ids  []string
		cmd  *command.Command
		opts apple.EnqueueOptions
		err  error
	)
	switch mt := mediaType(r); {
	case mt == "application/json":
		var req enqueueRequest
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
		if ids, err = requestIDs(pathID, req.EnrollmentIDs, "enrollment_ids"); err != nil {
			return err
		}
		if opts, err = enqueueOptions(req.Priority, req.TTLSeconds, req.NoPush); err != nil {
			return err
		}
		if cmd, err = req.command(); err != nil {
			return err
		}
	case plistTypes[mt]:
		q := r.URL.Query()
		if ids, err = requestIDs(pathID, q["enrollment_id"], "enrollment_id"); err != nil {
			return err
		}
		if opts, err = queryOptions(q); err != nil {
			return err
		}
		body, err := readBody(w, r, maxPlistBody)
		if err != nil {
			return err
		}
		if cmd, err = command.Raw(body, nil); err != nil {
			return commandError(err)
		}
	default:
		return errorf(http.StatusUnsupportedMediaType, "Content-Type must be application/json for a command by request_type, or application/x-apple-aspen-mdm, application/xml or text/xml for a raw command plist")
	}
	if pathID == "" {
		for _, id := range ids {
			if _, err := a.enrollment(r, id); err != nil {
				return err
			}
		}
	}

	res, err := a.queue.Enqueue(r.Context(), ids, cmd.Raw, &opts)
	switch {
	case errors.Is(err, apple.ErrMalformed):
		return errorf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, storage.ErrAlreadyExists):
		return errorf(http.StatusConflict, "a command with CommandUUID %q was enqueued before; every command needs a new UUID", cmd.UUID)
	case err != nil:
		return err
	}
	a.log.InfoContext(r.Context(), "admin: command enqueued", "command", cmd.UUID, "request_type", cmd.RequestType, "enrollments", len(ids))
	out := enqueueResponse{
		CommandUUID: res.Command.UUID, RequestType: res.Command.RequestType, EnrollmentIDs: ids,
		Push: "sent", Pushes: pushResultsOut(res.Pushes),
	}
	switch {
	case opts.NoPush:
		out.Push = "skipped"
	case !a.pushes:
		out.Push = "off"
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// command builds the command a JSON request describes.
func (req *enqueueRequest) command() (*command.Command, error) {
	switch {
	case req.RequestType != "" && req.Plist != "":
		return nil, errorf(http.StatusBadRequest, "give request_type or plist, not both")
	case req.Plist != "":
		if len(req.Args) > 0 || req.CommandUUID != "" {
			return nil, errorf(http.StatusBadRequest, "args and command_uuid go with request_type; a plist carries its own")
		}
		cmd, err := command.Raw([]byte(req.Plist), nil)
		if err != nil {
			return nil, commandError(err)
		}
		return cmd, nil
	case req.RequestType != "":
		cmd, err := command.Named(req.RequestType, req.Args, &command.Options{UUID: req.CommandUUID})
		if errors.Is(err, command.ErrUnknownCommand) {
			return nil, errorf(http.StatusBadRequest, "unknown request_type %q: the typed commands are %s; send any other command as a raw plist",
				req.RequestType, strings.Join(command.Names(), ", "))
		}
		if err != nil {
			return nil, commandError(err)
		}
		return cmd, nil
	}
	return nil, errorf(http.StatusBadRequest, "request_type (with args) or plist is required")
}

// commandError turns a failure to build a command into a 400: its text
// says what is wrong with the request.
func commandError(err error) error {
	if errors.Is(err, command.ErrInvalid) {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	return err
}

// requestIDs returns the enrollments a request is for: the one in the
// path, or the list given in field.
func requestIDs(pathID string, given []string, field string) ([]string, error) {
	if pathID != "" {
		if len(given) > 0 {
			return nil, errorf(http.StatusBadRequest, "%s is for POST /v1/commands; this path names the enrollment", field)
		}
		return []string{pathID}, nil
	}
	switch {
	case len(given) == 0:
		return nil, errorf(http.StatusBadRequest, "%s is required: the enrollments to send to", field)
	case len(given) > maxAdminIDs:
		return nil, errorf(http.StatusBadRequest, "%s has %d entries, more than %d", field, len(given), maxAdminIDs)
	}
	for _, id := range given {
		if id == "" || len(id) > maxIDLen {
			return nil, errorf(http.StatusBadRequest, "%s: every ID must have 1 to %d bytes", field, maxIDLen)
		}
	}
	return given, nil
}

// queryOptions reads the enqueue options of a raw command from the query.
func queryOptions(q url.Values) (apple.EnqueueOptions, error) {
	var (
		prio   int
		ttl    int64
		noPush bool
		err    error
	)
	if s := q.Get("priority"); s != "" {
		if prio, err = strconv.Atoi(s); err != nil {
			return apple.EnqueueOptions{}, errorf(http.StatusBadRequest, "priority must be an integer")
		}
	}
	if s := q.Get("ttl_seconds"); s != "" {
		if ttl, err = strconv.ParseInt(s, 10, 64); err != nil {
			return apple.EnqueueOptions{}, errorf(http.StatusBadRequest, "ttl_seconds must be an integer")
		}
	}
	if s := q.Get("no_push"); s != "" {
		if noPush, err = strconv.ParseBool(s); err != nil {
			return apple.EnqueueOptions{}, errorf(http.StatusBadRequest, "no_push must be true or false")
		}
	}
	return enqueueOptions(prio, ttl, noPush)
}

func enqueueOptions(priority int, ttlSeconds int64, noPush bool) (apple.EnqueueOptions, error) {
	if ttlSeconds < 0 || ttlSeconds > maxTTLSeconds {
		return apple.EnqueueOptions{}, errorf(http.StatusBadRequest, "ttl_seconds must be from 0 (no expiry) to %d", maxTTLSeconds)
	}
	return apple.EnqueueOptions{Priority: priority, TTL: time.Duration(ttlSeconds) * time.Second, NoPush: noPush}, nil
}

// errPushesOff answers push requests when APNs is not configured.
var errPushesOff = &apiError{
	status: http.StatusServiceUnavailable,
	msg:    "pushes are off: APNs is not configured (start the server with -apns-cert and -apns-key, or with APNs token authentication)",
}

// push serves POST /v1/enrollments/{id}/push (pathID set) and
// POST /v1/push.
func (a *adminAPI) push(w http.ResponseWriter, r *http.Request, pathID string) error {
	if !a.pushes {
		return errPushesOff
	}
	var ids []string
	if pathID != "" {
		if _, err := a.enrollment(r, pathID); err != nil {
			return err
		}
		ids = []string{pathID}
	} else {
		if mt := mediaType(r); mt != "application/json" {
			return errorf(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		}
		var req struct {
			EnrollmentIDs []string `json:"enrollment_ids"`
		}
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
		var err error
		if ids, err = requestIDs("", req.EnrollmentIDs, "enrollment_ids"); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), pushTimeout)
	defer cancel()
	results, err := a.queue.Push(ctx, ids)
	switch {
	case errors.Is(err, apple.ErrPushDisabled):
		return errPushesOff
	case err != nil && len(results) == 0:
		return err
	}
	// The results say what happened to each push, even when the provider
	// could attempt none of them.
	out := struct {
		Pushes []pushResultJSON `json:"pushes"`
		// NotPushed lists the enrollments without push info: unknown,
		// inactive, or not through their first TokenUpdate.
		NotPushed []string `json:"not_pushed"`
	}{Pushes: pushResultsOut(results), NotPushed: []string{}}
	pushed := make(map[string]bool, len(results))
	for _, p := range results {
		pushed[p.EnrollmentID] = true
	}
	for _, id := range ids {
		if !pushed[id] {
			out.NotPushed = append(out.NotPushed, id)
			pushed[id] = true // once, even if listed twice
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
