package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mdmkit/mdmkit/apple/appletest"
)

// testAPIKey is the -api-key of tests that pass one.
const testAPIKey = "test-api-key-0123456789"

// admin calls the admin API of ts over plain HTTP with key.
type admin struct {
	t   *testing.T
	ts  *testServer
	key string
}

func newAdmin(t *testing.T, ts *testServer, key string) *admin {
	return &admin{t: t, ts: ts, key: key}
}

// adminKey reads the generated API key of the server on dir.
func adminKey(t *testing.T, dir string) string {
	t.Helper()
	return strings.TrimSpace(string(readFile(t, filepath.Join(dir, apiKeyFile))))
}

// do sends a request and returns the status and body. A body that is not
// []byte or nil is sent as JSON.
func (a *admin) do(method, path, contentType string, body any) (int, []byte) {
	a.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.ts.httpURL+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if a.key != "" {
		req.Header.Set("Authorization", "Bearer "+a.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); len(out) > 0 && ct != "application/json" {
		a.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, out
}

// call is do with a status check and the JSON answer decoded into out
// (when not nil).
func (a *admin) call(method, path, contentType string, body any, wantStatus int, out any) {
	a.t.Helper()
	status, b := a.do(method, path, contentType, body)
	if status != wantStatus {
		a.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, wantStatus, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// fail checks that a request is refused with status and a JSON error
// mentioning want.
func (a *admin) fail(method, path, contentType string, body any, status int, want string) {
	a.t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	a.call(method, path, contentType, body, status, &e)
	if e.Error == "" || !strings.Contains(e.Error, want) {
		a.t.Errorf("%s %s: error %q, want one mentioning %q", method, path, e.Error, want)
	}
}

type enqueued struct {
	CommandUUID   string   `json:"command_uuid"`
	RequestType   string   `json:"request_type"`
	EnrollmentIDs []string `json:"enrollment_ids"`
	Push          string   `json:"push"`
	Pushes        []struct {
		EnrollmentID       string `json:"enrollment_id"`
		APNsID             string `json:"apns_id"`
		Error              string `json:"error"`
		DeviceTokenInvalid bool   `json:"device_token_invalid"`
	} `json:"pushes"`
}

// enqueue sends a typed command to one enrollment.
func (a *admin) enqueue(id, requestType string, args any) enqueued {
	a.t.Helper()
	var out enqueued
	body := map[string]any{"request_type": requestType}
	if args != nil {
		body["args"] = args
	}
	a.call(http.MethodPost, enrollmentPath(id, "commands"), "application/json", body, http.StatusOK, &out)
	if out.CommandUUID == "" || out.RequestType != requestType {
		a.t.Fatalf("enqueue %s: %+v", requestType, out)
	}
	return out
}

type queuedCommand struct {
	CommandUUID string `json:"command_uuid"`
	RequestType string `json:"request_type"`
	Priority    int    `json:"priority"`
	NotNowCount int    `json:"not_now_count"`
	NotAfter    string `json:"not_after"`
}

func (a *admin) queue(id string) []queuedCommand {
	a.t.Helper()
	var out struct {
		Commands []queuedCommand `json:"commands"`
	}
	a.call(http.MethodGet, enrollmentPath(id, "queue"), "", nil, http.StatusOK, &out)
	return out.Commands
}

type commandResult struct {
	EnrollmentID string `json:"enrollment_id"`
	CommandUUID  string `json:"command_uuid"`
	RequestType  string `json:"request_type"`
	Status       string `json:"status"`
	ReportedAt   string `json:"reported_at"`
	Plist        string `json:"plist"`
}

func (a *admin) results(id, query string) []commandResult {
	a.t.Helper()
	var out struct {
		Results []commandResult `json:"results"`
	}
	a.call(http.MethodGet, enrollmentPath(id, "results")+query, "", nil, http.StatusOK, &out)
	return out.Results
}

type enrollmentRecord struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	ParentID     string `json:"parent_id"`
	Active       bool   `json:"active"`
	UDID         string `json:"udid"`
	SerialNumber string `json:"serial_number"`
	UserLongName string `json:"user_long_name"`
	Topic        string `json:"topic"`
	TokenUpdates int    `json:"token_updates"`
	UpdatedAt    string `json:"updated_at"`
}

func (a *admin) enrollment(id string) enrollmentRecord {
	a.t.Helper()
	var out enrollmentRecord
	a.call(http.MethodGet, enrollmentPath(id), "", nil, http.StatusOK, &out)
	return out
}

// enrollmentPath is /v1/enrollments/{id}/more..., with id escaped as one
// path segment, ':' included (PathEscape leaves it, though some clients
// escape it).
func enrollmentPath(id string, more ...string) string {
	p := "/v1/enrollments/" + strings.ReplaceAll(url.PathEscape(id), ":", "%3A")
	for _, m := range more {
		p += "/" + m
	}
	return p
}

// fetchProfile downloads the enrollment profile over HTTPS.
func fetchProfile(t *testing.T, ts *testServer) []byte {
	t.Helper()
	resp, err := httpsClient(t, ts.dir).Get(ts.httpsURL + enrollPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != profileContentType {
		t.Fatalf("GET %s: %s, Content-Type %q: %s", enrollPath, resp.Status, resp.Header.Get("Content-Type"), b)
	}
	return b
}

// Device identity keys, made once per test binary.
var (
	devKeysOnce sync.Once
	devKeys     [3]*rsa.PrivateKey
	devKeysErr  error
)

func devKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	devKeysOnce.Do(func() {
		for j := range devKeys {
			if devKeys[j], devKeysErr = rsa.GenerateKey(rand.Reader, 2048); devKeysErr != nil {
				return
			}
		}
	})
	if devKeysErr != nil {
		t.Fatal(devKeysErr)
	}
	return devKeys[i]
}

// enrollDevice makes a simulated Mac with identity key i and enrolls it
// by installing the server's enrollment profile, over HTTPS.
func enrollDevice(t *testing.T, ts *testServer, i int, opts appletest.Options) *appletest.Device {
	t.Helper()
	opts.Key = devKey(t, i)
	opts.HTTPClient = httpsClient(t, ts.dir)
	d, err := appletest.New(&opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.InstallProfile(context.Background(), fetchProfile(t, ts)); err != nil {
		t.Fatalf("enrolling device %d: %v", i, err)
	}
	return d
}

// decodePlist decodes an XML property list into string, int64, bool,
// []byte, []any and map[string]any values (dates stay strings): enough to
// check the profiles the server writes without the library's internal
// codec.
func decodePlist(data []byte) (any, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "plist" {
			return plistValue(dec, nil)
		}
	}
}

// plistValue decodes the next value; start is its element when already
// read.
func plistValue(dec *xml.Decoder, start *xml.StartElement) (any, error) {
	for start == nil {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			start = &se
		}
	}
	switch start.Name.Local {
	case "dict":
		m := map[string]any{}
		for {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			switch el := tok.(type) {
			case xml.EndElement:
				return m, nil
			case xml.StartElement:
				if el.Name.Local != "key" {
					return nil, fmt.Errorf("plist: <%s> where a key belongs", el.Name.Local)
				}
				var k string
				if err := dec.DecodeElement(&k, &el); err != nil {
					return nil, err
				}
				v, err := plistValue(dec, nil)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
		}
	case "array":
		a := []any{}
		for {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			switch el := tok.(type) {
			case xml.EndElement:
				return a, nil
			case xml.StartElement:
				v, err := plistValue(dec, &el)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
		}
	case "true", "false":
		if err := dec.Skip(); err != nil {
			return nil, err
		}
		return start.Name.Local == "true", nil
	}
	var s string
	if err := dec.DecodeElement(&s, start); err != nil {
		return nil, err
	}
	switch start.Name.Local {
	case "integer":
		return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	case "data":
		return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	case "string", "date", "real":
		return s, nil
	}
	return nil, fmt.Errorf("plist: unexpected <%s>", start.Name.Local)
}
