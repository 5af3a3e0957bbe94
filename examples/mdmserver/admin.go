package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/storage"
)

// The admin API: JSON over HTTP under /v1/, authenticated by a bearer API
// key. openapi.yaml describes it. Routing is done here rather than with
// ServeMux patterns, which gained methods and wildcards only in Go 1.22,
// and because enrollment IDs are URL-escaped path segments that may hold
// ':' and, escaped, '/'.

const (
	adminPrefix = "/v1/"

	// Body limits: JSON requests are small; a raw command may carry a
	// profile or an app manifest.
	maxJSONBody  = 1 << 20
	maxPlistBody = 8 << 20

	// maxAdminIDs bounds the enrollment IDs of one request.
	maxAdminIDs = 10000
	// maxIDLen bounds one enrollment ID or command UUID; DefaultID's are
	// at most 513 bytes.
	maxIDLen = 1024

	defaultListLimit = 100
	maxListLimit     = 1000
)

// adminAPI serves /v1/. It keeps no state between requests.
type adminAPI struct {
	// keyHash is the SHA-256 of the API key: comparing digests in
	// constant time hides the key's length as well as its content.
	keyHash     [32]byte
	enrollments apple.EnrollmentStore
	viewer      apple.QueueViewer
	windows     windowsEnrollments
	queue       *apple.Queue
	// pushes is false when APNs is not configured.
	pushes bool
	log    *slog.Logger
}

func newAdminAPI(apiKey string, st store, queue *apple.Queue, pushes bool, logger *slog.Logger) *adminAPI {
	return &adminAPI{
		keyHash:     sha256.Sum256([]byte(apiKey)),
		enrollments: st,
		viewer:      st,
		windows:     st,
		queue:       queue,
		pushes:      pushes,
		log:         logger,
	}
}

// apiError is an error the client gets: its status and message.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

var errNoSuchPath = &apiError{status: http.StatusNotFound, msg: "no such path in the admin API; see openapi.yaml"}

func (a *adminAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mdmkit admin API"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong API key: send the header Authorization: Bearer <key>")
		return
	}
	if err := a.route(w, r); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			writeError(w, ae.status, ae.msg)
			return
		}
		// Storage failures and the like: the detail goes to the log only.
		a.log.ErrorContext(r.Context(), "admin API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error; see the server log")
	}
}

func (a *adminAPI) authorized(r *http.Request) bool {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
	return subtle.ConstantTimeCompare(sum[:], a.keyHash[:]) == 1
}

// route dispatches on the path segments after /v1/.
func (a *adminAPI) route(w http.ResponseWriter, r *http.Request) error {
	segs, ok := pathSegments(r.URL.EscapedPath())
	if !ok {
		return errNoSuchPath
	}
	method, serve := a.match(w, r, segs)
	if serve == nil {
		return errNoSuchPath
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		return errorf(http.StatusMethodNotAllowed, "method %s not allowed here; use %s", r.Method, method)
	}
	return serve()
}

// match returns the one method a path takes and the handler for it, or a
// nil handler for an unknown path.
func (a *adminAPI) match(w http.ResponseWriter, r *http.Request, segs []string) (string, func() error) {
	switch {
	case len(segs) == 1:
		switch segs[0] {
		case "enrollments":
			return http.MethodGet, func() error { return a.listEnrollments(w, r) }
		case "commands":
			return http.MethodPost, func() error { return a.enqueue(w, r, "") }
		case "push":
			return http.MethodPost, func() error { return a.push(w, r, "") }
		}
	case segs[0] == "windows":
		return a.matchWindows(w, r, segs[1:])
	case segs[0] != "enrollments":
	case len(segs) == 2:
		return http.MethodGet, func() error { return a.getEnrollment(w, r, segs[1]) }
	case len(segs) == 3:
		id := segs[1]
		switch segs[2] {
		case "commands":
			return http.MethodPost, func() error { return a.enqueue(w, r, id) }
		case "queue":
			return http.MethodGet, func() error { return a.queued(w, r, id) }
		case "results":
			return http.MethodGet, func() error { return a.results(w, r, id) }
		case "push":
			return http.MethodPost, func() error { return a.push(w, r, id) }
		}
	case len(segs) == 4 && segs[2] == "commands":
		return http.MethodDelete, func() error { return a.cancel(w, r, segs[1], segs[3]) }
	}
	return "", nil
}

// pathSegments splits the escaped path after /v1/ into unescaped
// segments, so that an enrollment ID holding an escaped '/' stays one
// segment. An empty or badly escaped segment matches nothing.
func pathSegments(escaped string) ([]string, bool) {
	rest, ok := strings.CutPrefix(escaped, adminPrefix)
	if !ok {
		return nil, false
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		s, err := url.PathUnescape(p)
		if err != nil || s == "" {
			return nil, false
		}
		parts[i] = s
	}
	return parts, true
}

// enrollmentJSON is an apple.EnrollmentRecord on the wire.
type enrollmentJSON struct {
	ID              string     `json:"id"`
	Type            string     `json:"type"`
	ParentID        string     `json:"parent_id,omitempty"`
	Active          bool       `json:"active"`
	UDID            string     `json:"udid,omitempty"`
	SerialNumber    string     `json:"serial_number,omitempty"`
	DeviceName      string     `json:"device_name,omitempty"`
	Model           string     `json:"model,omitempty"`
	ProductName     string     `json:"product_name,omitempty"`
	OSVersion       string     `json:"os_version,omitempty"`
	BuildVersion    string     `json:"build_version,omitempty"`
	UserShortName   string     `json:"user_short_name,omitempty"`
	UserLongName    string     `json:"user_long_name,omitempty"`
	Topic           string     `json:"topic,omitempty"`
	TokenUpdates    int        `json:"token_updates"`
	AuthenticatedAt *time.Time `json:"authenticated_at,omitempty"`
	EnrolledAt      *time.Time `json:"enrolled_at,omitempty"`
	UpdatedAt       *time.Time `json:"updated_at,omitempty"`
}

func enrollmentOut(e *apple.EnrollmentRecord) enrollmentJSON {
	return enrollmentJSON{
		ID: e.ID, Type: e.Type.String(), ParentID: e.ParentID, Active: e.Active,
		UDID: e.UDID, SerialNumber: e.SerialNumber, DeviceName: e.DeviceName, Model: e.Model,
		ProductName: e.ProductName, OSVersion: e.OSVersion, BuildVersion: e.BuildVersion,
		UserShortName: e.UserShortName, UserLongName: e.UserLongName, Topic: e.Topic,
		TokenUpdates:    e.TokenUpdates,
		AuthenticatedAt: timeOut(e.AuthenticatedAt), EnrolledAt: timeOut(e.EnrolledAt), UpdatedAt: timeOut(e.UpdatedAt),
	}
}

// timeOut leaves zero times out of the JSON and writes the others in UTC.
func timeOut(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func (a *adminAPI) listEnrollments(w http.ResponseWriter, r *http.Request) error {
	after, limit, err := pageParams(r.URL.Query())
	if err != nil {
		return err
	}
	recs, err := a.enrollments.Enrollments(r.Context(), after, limit)
	if err != nil {
		return err
	}
	out := struct {
		Enrollments []enrollmentJSON `json:"enrollments"`
		NextAfter   string           `json:"next_after,omitempty"`
	}{Enrollments: make([]enrollmentJSON, 0, len(recs))}
	for i := range recs {
		out.Enrollments = append(out.Enrollments, enrollmentOut(&recs[i]))
	}
	if len(recs) == limit {
		out.NextAfter = recs[len(recs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// pageParams reads the ?after= and ?limit= of a list.
func pageParams(q url.Values) (after string, limit int, err error) {
	if limit, err = limitParam(q); err != nil {
		return "", 0, err
	}
	after = q.Get("after")
	if len(after) > maxIDLen {
		return "", 0, errorf(http.StatusBadRequest, "after is longer than %d bytes", maxIDLen)
	}
	return after, limit, nil
}

// limitParam reads ?limit=, 1 to maxListLimit, defaultListLimit when
// absent.
func limitParam(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return defaultListLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxListLimit {
		return 0, errorf(http.StatusBadRequest, "limit must be an integer from 1 to %d", maxListLimit)
	}
	return n, nil
}

// enrollment returns a known enrollment's record, or a 404.
func (a *adminAPI) enrollment(r *http.Request, id string) (*apple.EnrollmentRecord, error) {
	if len(id) > maxIDLen {
		return nil, errorf(http.StatusNotFound, "no enrollment with that ID")
	}
	rec, err := a.enrollments.Enrollment(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errorf(http.StatusNotFound, "no enrollment %q", id)
	}
	return rec, err
}

func (a *adminAPI) getEnrollment(w http.ResponseWriter, r *http.Request, id string) error {
	rec, err := a.enrollment(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, enrollmentOut(rec))
	return nil
}

// queuedJSON is an apple.QueuedCommand on the wire.
type queuedJSON struct {
	CommandUUID string     `json:"command_uuid"`
	RequestType string     `json:"request_type"`
	Priority    int        `json:"priority"`
	EnqueuedAt  *time.Time `json:"enqueued_at,omitempty"`
	NotAfter    *time.Time `json:"not_after,omitempty"`
	// Expired commands stay listed but are no longer delivered.
	Expired     bool       `json:"expired,omitempty"`
	NotNowCount int        `json:"not_now_count"`
	NotNowAt    *time.Time `json:"not_now_at,omitempty"`
}

func (a *adminAPI) queued(w http.ResponseWriter, r *http.Request, id string) error {
	if _, err := a.enrollment(r, id); err != nil {
		return err
	}
	cmds, err := a.viewer.QueuedCommands(r.Context(), id)
	if err != nil {
		return err
	}
	now := time.Now()
	out := struct {
		Commands []queuedJSON `json:"commands"`
	}{Commands: make([]queuedJSON, 0, len(cmds))}
	for _, c := range cmds {
		out.Commands = append(out.Commands, queuedJSON{
			CommandUUID: c.UUID, RequestType: c.RequestType, Priority: c.Priority,
			EnqueuedAt: timeOut(c.EnqueuedAt), NotAfter: timeOut(c.NotAfter),
			Expired:     !c.NotAfter.IsZero() && now.After(c.NotAfter),
			NotNowCount: c.NotNowCount, NotNowAt: timeOut(c.NotNowAt),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// resultJSON is an apple.Result on the wire. The report is a property
// list, normally XML; one that is not UTF-8 text comes as base64.
type resultJSON struct {
	EnrollmentID string     `json:"enrollment_id"`
	CommandUUID  string     `json:"command_uuid"`
	RequestType  string     `json:"request_type,omitempty"`
	Status       string     `json:"status"`
	ReportedAt   *time.Time `json:"reported_at,omitempty"`
	Plist        string     `json:"plist,omitempty"`
	PlistBase64  []byte     `json:"plist_base64,omitempty"`
}

func (a *adminAPI) results(w http.ResponseWriter, r *http.Request, id string) error {
	q := r.URL.Query()
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	uuid := q.Get("command_uuid")
	if len(uuid) > maxIDLen {
		return errorf(http.StatusBadRequest, "command_uuid is longer than %d bytes", maxIDLen)
	}
	if _, err := a.enrollment(r, id); err != nil {
		return err
	}
	res, err := a.viewer.Results(r.Context(), id, uuid, limit)
	if err != nil {
		return err
	}
	out := struct {
		Results []resultJSON `json:"results"`
	}{Results: make([]resultJSON, 0, len(res))}
	for _, rs := range res {
		j := resultJSON{
			EnrollmentID: rs.EnrollmentID, CommandUUID: rs.CommandUUID, RequestType: rs.RequestType,
			Status: string(rs.Status), ReportedAt: timeOut(rs.ReportedAt),
		}
		if utf8.Valid(rs.Raw) {
			j.Plist = string(rs.Raw)
		} else {
			j.PlistBase64 = rs.Raw
		}
		out.Results = append(out.Results, j)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *adminAPI) cancel(w http.ResponseWriter, r *http.Request, id, uuid string) error {
	if _, err := a.enrollment(r, id); err != nil {
		return err
	}
	err := a.viewer.CancelCommand(r.Context(), id, uuid)
	if errors.Is(err, storage.ErrNotFound) {
		return errorf(http.StatusNotFound, "command %q is not queued for %q (unknown, completed or cancelled)", uuid, id)
	}
	if err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "admin: command cancelled", "id", id, "command", uuid)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readBody reads a body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errorf(http.StatusRequestEntityTooLarge, "body larger than %d bytes", limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, errorf(http.StatusRequestEntityTooLarge, "body larger than %d bytes", limit)
	case err != nil:
		return nil, errorf(http.StatusBadRequest, "reading body: %v", err)
	}
	return b, nil
}

// decodeJSON reads one JSON object into v, refusing unknown fields and
// anything after the object.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := readBody(w, r, maxJSONBody)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "invalid JSON body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, "invalid JSON body: data after the object")
	}
	return nil
}

// mediaType returns the request's media type in lower case, without
// parameters.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	// Plists are full of '<' and '>'; escaping them only hurts reading.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}
