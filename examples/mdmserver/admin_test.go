package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdmkit/mdmkit/apple"
	"github.com/mdmkit/mdmkit/apple/appletest"
	"github.com/mdmkit/mdmkit/apple/command"
)

func TestAdminAuth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		key  func(t *testing.T, dir string) string
	}{
		{name: "generated", key: adminKey},
		{name: "flag", args: []string{"-api-key", testAPIKey}, key: func(*testing.T, string) string { return testAPIKey }},
		{name: "environment", env: map[string]string{"MDMKIT_API_KEY": testAPIKey}, key: func(*testing.T, string) string { return testAPIKey }},
	} {
		tc := tc // each parallel subtest its own (go 1.21 loop semantics)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			seedCA(t, dir)
			ts := startServer(t, dir, tc.env, tc.args...)
			key := tc.key(t, dir)
			if tc.name == "generated" {
				checkMode(t, filepath.Join(dir, apiKeyFile), 0o600)
				if len(key) != 64 {
					t.Errorf("generated key has %d characters, want 64", len(key))
				}
				if strings.Contains(ts.stdout.String(), key) || strings.Contains(ts.stderr.String(), key) {
					t.Error("the generated API key was printed")
				}
			}
			for _, bad := range []struct {
				name, header string
			}{
				{"none", ""},
				{"wrong key", "Bearer wrong-" + key},
				{"key prefix", "Bearer " + key[:len(key)-1]},
				{"other scheme", "Basic " + key},
				{"bare key", key},
			} {
				for _, path := range []string{"/v1/enrollments", "/v1/no-such-path", enrollmentPath("x", "commands")} {
					req, _ := http.NewRequest(http.MethodGet, ts.httpURL+path, nil)
					if bad.header != "" {
						req.Header.Set("Authorization", bad.header)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("%s on %s: %s, WWW-Authenticate %q; want 401", bad.name, path, resp.Status, resp.Header.Get("WWW-Authenticate"))
					}
				}
			}
			var list struct {
				Enrollments []enrollmentRecord `json:"enrollments"`
			}
			newAdmin(t, ts, key).call(http.MethodGet, "/v1/enrollments", "", nil, http.StatusOK, &list)
			if list.Enrollments == nil || len(list.Enrollments) != 0 {
				t.Errorf("enrollments of a new server: %+v, want an empty list", list.Enrollments)
			}
			// "bearer" is case-insensitive.
			req, _ := http.NewRequest(http.MethodGet, ts.httpsURL+"/v1/enrollments", nil)
			req.Header.Set("Authorization", "bearer "+key)
			resp, err := httpsClient(t, dir).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("lower-case scheme over HTTPS: %s", resp.Status)
			}
		})
	}
}

// TestAdminAPI drives every admin endpoint against one enrolled device,
// with pushes off.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seedCA(t, dir)
	ts := startServer(t, dir, nil, "-api-key", testAPIKey)
	adm := newAdmin(t, ts, testAPIKey)
	d := enrollDevice(t, ts, 0, appletest.Options{SerialNumber: "ADMINTEST01"})
	id := d.UDID()
	ctx := context.Background()

	var list struct {
		Enrollments []enrollmentRecord `json:"enrollments"`
		NextAfter   string             `json:"next_after"`
	}
	adm.call(http.MethodGet, "/v1/enrollments?limit=1", "", nil, http.StatusOK, &list)
	if len(list.Enrollments) != 1 || list.Enrollments[0].ID != id || !list.Enrollments[0].Active ||
		list.Enrollments[0].SerialNumber != "ADMINTEST01" || list.Enrollments[0].Type != "Device" || list.NextAfter != id {
		t.Errorf("enrollments = %+v", list)
	}
	list.Enrollments, list.NextAfter = nil, ""
	adm.call(http.MethodGet, "/v1/enrollments?after="+id, "", nil, http.StatusOK, &list)
	if len(list.Enrollments) != 0 || list.NextAfter != "" {
		t.Errorf("enrollments after the last: %+v", list)
	}
	if rec := adm.enrollment(id); rec.UDID != id || rec.TokenUpdates != 1 {
		t.Errorf("enrollment = %+v", rec)
	}

	// A typed command, a raw one (XML body), a raw one in JSON, and one
	// to a list of enrollments, at several priorities.
	info := adm.enqueue(id, "DeviceInformation", map[string]any{"Queries": []string{"SerialNumber", "UDID"}})
	if info.Push != "off" || len(info.Pushes) != 0 || len(info.EnrollmentIDs) != 1 || info.EnrollmentIDs[0] != id {
		t.Errorf("enqueue with pushes off: %+v", info)
	}
	const rawUUID = "2A9C3E1F-7B6D-4F0A-8E21-5C4B3A291807"
	raw := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>CommandUUID</key><string>` + rawUUID + `</string>
<key>Command</key><dict><key>RequestType</key><string>SecurityInfo</string></dict>
</dict></plist>`)
	var e enqueued
	adm.call(http.MethodPost, enrollmentPath(id, "commands")+"?priority=5&ttl_seconds=3600", "application/xml", raw, http.StatusOK, &e)
	if e.CommandUUID != rawUUID || e.RequestType != "SecurityInfo" {
		t.Errorf("raw enqueue: %+v", e)
	}
	listCmd, err := command.New(command.ProfileList{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	adm.call(http.MethodPost, "/v1/commands", "application/json",
		map[string]any{"enrollment_ids": []string{id}, "plist": string(listCmd.Raw), "priority": 1}, http.StatusOK, &e)
	if e.CommandUUID != listCmd.UUID {
		t.Errorf("raw plist in JSON: %+v", e)
	}
	restart := adm.enqueue(id, "RestartDevice", nil)
	// The same UUID again is refused.
	adm.fail(http.MethodPost, enrollmentPath(id, "commands"), "text/xml", raw, http.StatusConflict, rawUUID)

	q := adm.queue(id)
	wantOrder := []string{rawUUID, listCmd.UUID, info.CommandUUID, restart.CommandUUID}
	if len(q) != len(wantOrder) {
		t.Fatalf("queue has %d commands, want %d: %+v", len(q), len(wantOrder), q)
	}
	for i, c := range q {
		if c.CommandUUID != wantOrder[i] {
			t.Errorf("queue[%d] = %s %s, want %s", i, c.RequestType, c.CommandUUID, wantOrder[i])
		}
	}
	if q[0].Priority != 5 || q[0].NotAfter == "" || q[2].NotAfter != "" {
		t.Errorf("priority and expiry not as enqueued: %+v", q)
	}

	// Cancel one; a second cancel finds nothing.
	adm.call(http.MethodDelete, enrollmentPath(id, "commands", restart.CommandUUID), "", nil, http.StatusNoContent, nil)
	adm.fail(http.MethodDelete, enrollmentPath(id, "commands", restart.CommandUUID), "", nil, http.StatusNotFound, "not queued")
	adm.fail(http.MethodDelete, enrollmentPath("no-such-device", "commands", restart.CommandUUID), "", nil, http.StatusNotFound, "no enrollment")

	ran, err := d.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 3 {
		t.Fatalf("Poll ran %d commands, want 3 (the cancelled one not among them): %+v", len(ran), ran)
	}
	for i, r := range ran {
		if r.CommandUUID != wantOrder[i] || r.Status != apple.StatusAcknowledged {
			t.Errorf("ran[%d] = %s %s %s, want %s Acknowledged", i, r.RequestType, r.CommandUUID, r.Status, wantOrder[i])
		}
	}
	if q := adm.queue(id); len(q) != 0 {
		t.Errorf("queue after Poll: %+v", q)
	}

	res := adm.results(id, "")
	if len(res) != 3 {
		t.Fatalf("%d results, want 3", len(res))
	}
	res = adm.results(id, "?command_uuid="+info.CommandUUID)
	if len(res) != 1 || res[0].Status != "Acknowledged" || res[0].RequestType != "DeviceInformation" || res[0].ReportedAt == "" {
		t.Fatalf("DeviceInformation result: %+v", res)
	}
	di, err := command.DecodeDeviceInformation([]byte(res[0].Plist))
	if err != nil {
		t.Fatalf("result plist: %v", err)
	}
	if di.QueryResponses.SerialNumber != "ADMINTEST01" || di.QueryResponses.UDID != id {
		t.Errorf("QueryResponses = %+v", di.QueryResponses)
	}
	if res := adm.results(id, "?limit=1"); len(res) != 1 {
		t.Errorf("limit=1 gave %d results", len(res))
	}

	// Pushes are off.
	adm.fail(http.MethodPost, enrollmentPath(id, "push"), "", nil, http.StatusServiceUnavailable, "pushes are off")
	adm.fail(http.MethodPost, "/v1/push", "application/json", map[string]any{"enrollment_ids": []string{id}}, http.StatusServiceUnavailable, "APNs is not configured")
	if e := adm.enqueue(id, "ProfileList", map[string]any{"ManagedOnly": true}); e.Push != "off" {
		t.Errorf("push = %q, want off", e.Push)
	}
	adm.call(http.MethodPost, enrollmentPath(id, "commands"), "application/json", map[string]any{"request_type": "ProfileList", "no_push": true}, http.StatusOK, &e)
	if e.Push != "skipped" {
		t.Errorf("push with no_push = %q, want skipped", e.Push)
	}

	cmdPath := enrollmentPath(id, "commands")
	big := bytes.Repeat([]byte(" "), maxJSONBody+1)
	for _, tc := range []struct {
		name, method, path, contentType string
		body                            any
		status                          int
		want                            string
	}{
		{"bad JSON", http.MethodPost, cmdPath, "application/json", []byte(`{"request_type": `), http.StatusBadRequest, "invalid JSON"},
		{"unknown field", http.MethodPost, cmdPath, "application/json", []byte(`{"request_typ": "DeviceInformation"}`), http.StatusBadRequest, "request_typ"},
		{"trailing data", http.MethodPost, cmdPath, "application/json", []byte(`{"request_type": "ProfileList"} {}`), http.StatusBadRequest, "after the object"},
		{"unknown request_type", http.MethodPost, cmdPath, "application/json", map[string]any{"request_type": "FlyToTheMoon"}, http.StatusBadRequest, "unknown request_type"},
		{"bad args", http.MethodPost, cmdPath, "application/json", map[string]any{"request_type": "DeviceInformation", "args": map[string]any{"Queries": 7}}, http.StatusBadRequest, "DeviceInformation"},
		{"missing required arg", http.MethodPost, cmdPath, "application/json", map[string]any{"request_type": "RemoveProfile"}, http.StatusBadRequest, "command:"},
		{"no command", http.MethodPost, cmdPath, "application/json", map[string]any{"priority": 1}, http.StatusBadRequest, "request_type"},
		{"type and plist", http.MethodPost, cmdPath, "application/json", map[string]any{"request_type": "ProfileList", "plist": string(raw)}, http.StatusBadRequest, "not both"},
		{"negative TTL", http.MethodPost, cmdPath, "application/json", map[string]any{"request_type": "ProfileList", "ttl_seconds": -1}, http.StatusBadRequest, "ttl_seconds"},
		{"IDs on a one-enrollment path", http.MethodPost, cmdPath, "application/json", map[string]any{"request_type": "ProfileList", "enrollment_ids": []string{id}}, http.StatusBadRequest, "enrollment_ids"},
		{"no IDs", http.MethodPost, "/v1/commands", "application/json", map[string]any{"request_type": "ProfileList"}, http.StatusBadRequest, "enrollment_ids is required"},
		{"unknown ID in a list", http.MethodPost, "/v1/commands", "application/json", map[string]any{"request_type": "ProfileList", "enrollment_ids": []string{id, "nope"}}, http.StatusNotFound, "nope"},
		{"raw without IDs", http.MethodPost, "/v1/commands", "application/xml", raw, http.StatusBadRequest, "enrollment_id"},
		{"not a plist", http.MethodPost, cmdPath, "application/xml", []byte("<html></html>"), http.StatusBadRequest, "command:"},
		{"plist without a command", http.MethodPost, cmdPath, "application/xml", []byte(`<plist version="1.0"><dict><key>A</key><string>b</string></dict></plist>`), http.StatusBadRequest, "Command"},
		{"bad priority", http.MethodPost, cmdPath + "?priority=high", "application/xml", raw, http.StatusBadRequest, "priority"},
		{"form body", http.MethodPost, cmdPath, "application/x-www-form-urlencoded", []byte("a=b"), http.StatusUnsupportedMediaType, "Content-Type"},
		{"JSON too large", http.MethodPost, cmdPath, "application/json", big, http.StatusRequestEntityTooLarge, "larger than"},
		{"plist too large", http.MethodPost, cmdPath, "application/xml", bytes.Repeat([]byte(" "), maxPlistBody+1), http.StatusRequestEntityTooLarge, "larger than"},
		{"unknown enrollment", http.MethodPost, enrollmentPath("no-such-device", "commands"), "application/json", map[string]any{"request_type": "ProfileList"}, http.StatusNotFound, "no enrollment"},
		{"unknown enrollment record", http.MethodGet, enrollmentPath("no-such-device"), "", nil, http.StatusNotFound, "no enrollment"},
		{"escaped slash in an ID", http.MethodGet, "/v1/enrollments/UDID%3Ajane%2Fdoe/queue", "", nil, http.StatusNotFound, `no enrollment "UDID:jane/doe"`},
		{"unknown enrollment queue", http.MethodGet, enrollmentPath("no-such-device", "queue"), "", nil, http.StatusNotFound, "no enrollment"},
		{"bad limit", http.MethodGet, enrollmentPath(id, "results") + "?limit=0", "", nil, http.StatusBadRequest, "limit"},
		{"limit too large", http.MethodGet, "/v1/enrollments?limit=1001", "", nil, http.StatusBadRequest, "limit"},
		{"wrong method", http.MethodGet, cmdPath, "", nil, http.StatusMethodNotAllowed, "POST"},
		{"wrong method on queue", http.MethodDelete, enrollmentPath(id, "queue"), "", nil, http.StatusMethodNotAllowed, "GET"},
		{"unknown path", http.MethodGet, "/v1/devices", "", nil, http.StatusNotFound, "no such path"},
		{"unknown subpath", http.MethodGet, enrollmentPath(id, "profiles"), "", nil, http.StatusNotFound, "no such path"},
		{"empty segment", http.MethodGet, "/v1/enrollments/", "", nil, http.StatusNotFound, "no such path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			adm := newAdmin(t, ts, testAPIKey)
			adm.fail(tc.method, tc.path, tc.contentType, tc.body, tc.status, tc.want)
		})
	}
	// Nothing refused above was queued.
	if q := adm.queue(id); len(q) != 2 {
		t.Errorf("queue after refused requests has %d commands, want the 2 ProfileLists: %+v", len(q), q)
	}
}

// TestOpenAPIPaths checks openapi.yaml against the router: every
// documented path and method is served, and other methods on those paths
// answer 405.
func TestOpenAPIPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seedCA(t, dir)
	ts := startServer(t, dir, nil, "-api-key", testAPIKey)
	adm := newAdmin(t, ts, testAPIKey)

	doc := map[string][]string{} // path -> methods
	var path string
	for _, line := range strings.Split(string(readFile(t, "openapi.yaml")), "\n") {
		switch {
		case strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			path = strings.TrimSuffix(strings.TrimSpace(line), ":")
			doc[path] = nil
		case !strings.HasPrefix(line, " ") && line != "":
			path = "" // a top-level key ends the paths
		case path != "" && len(line) > 4 && line[4] != ' ':
			m := strings.TrimSuffix(strings.TrimSpace(line), ":")
			switch m {
			case "get", "post", "put", "patch", "delete":
				doc[path] = append(doc[path], strings.ToUpper(m))
			}
		}
	}
	if len(doc) != 11 {
		t.Fatalf("openapi.yaml documents %d paths, want 11: %v", len(doc), doc)
	}
	for p, methods := range doc {
		if len(methods) != 1 {
			t.Fatalf("%s: methods %v, want one", p, methods)
		}
		// An unknown enrollment: found paths answer "no enrollment",
		// unknown paths "no such path".
		url := "/v1" + strings.NewReplacer("{id}", "unknown-device", "{device_id}", "unknown-device", "{uuid}", "some-uuid").Replace(p)
		status, body := adm.do(methods[0], url, "application/json", []byte(`{"enrollment_ids": ["x"], "request_type": "ProfileList"}`))
		if status == http.StatusMethodNotAllowed || strings.Contains(string(body), "no such path") {
			t.Errorf("%s %s (documented): %d %s", methods[0], url, status, body)
		}
		other := http.MethodPut
		status, _ = adm.do(other, url, "", nil)
		if status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s (not documented): %d, want 405", other, url, status)
		}
	}
}

func TestPathSegments(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // nil: no match
	}{
		{"/v1/enrollments", []string{"enrollments"}},
		{"/v1/enrollments/UDID%3AUSER/queue", []string{"enrollments", "UDID:USER", "queue"}},
		{"/v1/enrollments/UDID:USER/queue", []string{"enrollments", "UDID:USER", "queue"}},
		{"/v1/enrollments/UDID%3Ajane%2Fdoe%40example.com/results", []string{"enrollments", "UDID:jane/doe@example.com", "results"}},
		{"/v1/enrollments/a%20b", []string{"enrollments", "a b"}},
		{"/v1/", nil},
		{"/v1/enrollments/", nil},
		{"/v1/enrollments//queue", nil},
		{"/v1/enrollments/%zz", nil},
		{"/v2/enrollments", nil},
	} {
		got, ok := pathSegments(tc.in)
		if ok != (tc.want != nil) || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("pathSegments(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}
