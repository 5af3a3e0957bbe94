package command_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mdmkit/mdmkit/apple/command"
)

// addVectorSeeds adds the result captures as seeds when MDMKIT_VECTORS is
// set; the fuzz targets have seeds of their own either way.
func addVectorSeeds(f *testing.F) {
	dir := os.Getenv("MDMKIT_VECTORS")
	if dir == "" {
		return
	}
	for _, name := range []string{
		"nanomdm/DeviceInformation.1.plist",
		"nanocmd/inventory-devinfo.plist",
		"nanocmd/inventory-secinfo.plist",
		"nanocmd/engine-devinfo.plist",
		"nanocmd/certprof-certlist.plist",
		"nanocmd/certprof-resp-ack.plist",
		"nanocmd/certprof-resp-error.plist",
	} {
		if b, err := os.ReadFile(filepath.Join(dir, "apple", filepath.FromSlash(name))); err == nil {
			f.Add(b)
		}
	}
}

// FuzzDecodeResult feeds arbitrary bodies to every result decoder: none
// may panic, and those that succeed agree on the common keys.
func FuzzDecodeResult(f *testing.F) {
	f.Add([]byte{})
	f.Add(wrapPlist(`<dict><key>Status</key><string>Acknowledged</string><key>QueryResponses</key><dict><key>BatteryLevel</key><real>0.5</real></dict></dict>`))
	f.Add(wrapPlist(`<dict><key>ErrorChain</key><array><dict><key>ErrorCode</key><real>1e300</real></dict><string/></array></dict>`))
	f.Add(wrapPlist(`<dict><key>ProfileList</key><array><dict><key>PayloadContent</key><array><dict/></array></dict></array></dict>`))
	f.Add(wrapPlist(`<dict><key>CertificateList</key><array><dict><key>Data</key><data>MAA=</data></dict></array></dict>`))
	f.Add(wrapPlist(`<dict><key>InstalledApplicationList</key><array><dict><key>BundleSize</key><integer>18446744073709551615</integer></dict></array></dict>`))
	f.Add(wrapPlist(`<dict><key>AvailableOSUpdates</key><array><dict><key>DeferredUntil</key><date>2024-01-01T00:00:00Z</date></dict></array></dict>`))
	f.Add(wrapPlist(`<dict><key>SecurityInfo</key><dict><key>FirewallSettings</key><dict><key>Applications</key><array><dict/></array></dict></dict></dict>`))
	f.Add([]byte("bplist00\xd0\x08\x00\x00\x00\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x09"))
	addVectorSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		report, rerr := command.DecodeReport(body)
		check := func(name string, r *command.Report, err error) {
			if (err == nil) != (rerr == nil) {
				t.Fatalf("%s error %v, DecodeReport error %v", name, err, rerr)
			}
			if err == nil && !reflect.DeepEqual(*r, *report) {
				t.Fatalf("%s Report %+v, DecodeReport %+v", name, *r, *report)
			}
		}
		if r, err := command.DecodeDeviceInformation(body); err == nil {
			check("DeviceInformation", &r.Report, nil)
		} else {
			check("DeviceInformation", nil, err)
		}
		if r, err := command.DecodeSecurityInfo(body); err == nil {
			check("SecurityInfo", &r.Report, nil)
		} else {
			check("SecurityInfo", nil, err)
		}
		if r, err := command.DecodeProfileList(body); err == nil {
			check("ProfileList", &r.Report, nil)
		} else {
			check("ProfileList", nil, err)
		}
		if r, err := command.DecodeCertificateList(body); err == nil {
			check("CertificateList", &r.Report, nil)
			for _, c := range r.CertificateList {
				_, _ = c.Parse() // must not panic on device bytes
			}
		} else {
			check("CertificateList", nil, err)
		}
		if r, err := command.DecodeInstalledApplicationList(body); err == nil {
			check("InstalledApplicationList", &r.Report, nil)
		} else {
			check("InstalledApplicationList", nil, err)
		}
		if r, err := command.DecodeAvailableOSUpdates(body); err == nil {
			check("AvailableOSUpdates", &r.Report, nil)
		} else {
			check("AvailableOSUpdates", nil, err)
		}
	})
}

// FuzzRaw feeds arbitrary plists to Raw: it must not panic, and what it
// accepts must pass through Raw again unchanged.
func FuzzRaw(f *testing.F) {
	f.Add([]byte{})
	f.Add(wrapPlist(`<dict><key>CommandUUID</key><string>u</string><key>Command</key><dict><key>RequestType</key><string>X</string></dict></dict>`))
	f.Add(wrapPlist(`<dict><key>Command</key><dict><key>RequestType</key><string>X</string><key>D</key><data>AA==</data><key>N</key><real>-0.5</real></dict></dict>`))
	f.Add(wrapPlist(`<dict><key>Command</key><dict><key>RequestType</key><integer>1</integer></dict></dict>`))
	for _, n := range command.Names() {
		if c, err := command.Named(n, []byte(namedArgs[n]), nil); err == nil {
			f.Add(c.Raw)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := command.Raw(data, &command.Options{UUID: "FUZZ"})
		if err != nil {
			return
		}
		if c.UUID == "" || c.RequestType == "" {
			t.Fatalf("accepted with empty UUID or RequestType: %+v", c)
		}
		again, err := command.Raw(c.Raw, nil)
		if err != nil {
			t.Fatalf("Raw rejects its own output: %v\n%s", err, c.Raw)
		}
		if again.UUID != c.UUID || again.RequestType != c.RequestType || !bytes.Equal(again.Raw, c.Raw) {
			t.Fatalf("second pass changed the command: %+v -> %+v", c, again)
		}
	})
}

// FuzzNamed feeds arbitrary JSON to Named: it must not panic, and what it
// builds must pass Raw unchanged.
func FuzzNamed(f *testing.F) {
	names := command.Names()
	for i, n := range names {
		f.Add(uint8(i), []byte(namedArgs[n]))
	}
	f.Add(uint8(7), []byte(`{"Configuration": {"a": [1, 2.5, {"b": null}]}}`))
	f.Add(uint8(16), []byte(`{"Settings": [{"Item": "X", "V": 1e308}]}`))
	f.Fuzz(func(t *testing.T, i uint8, args []byte) {
		n := names[int(i)%len(names)]
		c, err := command.Named(n, args, &command.Options{UUID: "FUZZ"})
		if err != nil {
			return
		}
		r, err := command.Raw(c.Raw, nil)
		if err != nil {
			t.Fatalf("Raw rejects Named(%s) output: %v\n%s", n, err, c.Raw)
		}
		if r.RequestType != n || !bytes.Equal(r.Raw, c.Raw) {
			t.Fatalf("Raw changed Named(%s) output", n)
		}
	})
}
