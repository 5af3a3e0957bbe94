package command_test

import (
	"fmt"
	"log"

	"github.com/mdmkit/mdmkit/apple/command"
)

// Build a DeviceInformation query and an InstallProfile command, then read
// the device's answer to the query.
func Example() {
	// A fixed CommandUUID keeps the output stable; leave Options nil for a
	// random one.
	info, err := command.New(command.DeviceInformation{
		Queries: []string{"OSVersion", "SerialNumber"},
	}, &command.Options{UUID: "0001-DeviceInformation"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s\n%s", info.UUID, info.RequestType, info.Raw)

	mobileconfig := []byte(`<?xml version="1.0" encoding="UTF-8"?>...`) // a signed .mobileconfig
	install, err := command.New(command.InstallProfile{Payload: mobileconfig}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(install.RequestType, len(install.UUID))

	// The device's next request reports the result of the query.
	body := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>CommandUUID</key>
	<string>0001-DeviceInformation</string>
	<key>QueryResponses</key>
	<dict>
		<key>OSVersion</key>
		<string>14.5</string>
		<key>SerialNumber</key>
		<string>C02XK0AAJGH6</string>
	</dict>
	<key>Status</key>
	<string>Acknowledged</string>
	<key>UDID</key>
	<string>A1B2C3D4-0000-1111-2222-333344445555</string>
</dict>
</plist>`)
	res, err := command.DecodeDeviceInformation(body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.CommandUUID, res.Status, res.QueryResponses.OSVersion, res.QueryResponses.SerialNumber)
	// Output:
	// 0001-DeviceInformation DeviceInformation
	// <?xml version="1.0" encoding="UTF-8"?>
	// <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
	// <plist version="1.0">
	// <dict>
	// 	<key>Command</key>
	// 	<dict>
	// 		<key>Queries</key>
	// 		<array>
	// 			<string>OSVersion</string>
	// 			<string>SerialNumber</string>
	// 		</array>
	// 		<key>RequestType</key>
	// 		<string>DeviceInformation</string>
	// 	</dict>
	// 	<key>CommandUUID</key>
	// 	<string>0001-DeviceInformation</string>
	// </dict>
	// </plist>
	// InstallProfile 36
	// 0001-DeviceInformation Acknowledged 14.5 C02XK0AAJGH6
}

// Build a command from an admin API request: a name and JSON arguments.
func ExampleNamed() {
	c, err := command.Named("RemoveProfile", []byte(`{"Identifier": "com.example.wifi"}`), &command.Options{UUID: "0002"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.UUID, c.RequestType)

	_, err = command.Named("RemoveProfile", []byte(`{"Identifier": "x", "Force": true}`), nil)
	fmt.Println(err)
	// Output:
	// 0002 RemoveProfile
	// command: RemoveProfile arguments: json: unknown field "Force"
}

// Pass through a command this package has no type for; Raw adds the
// CommandUUID it lacks.
func ExampleRaw() {
	c, err := command.Raw([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
	<key>Command</key>
	<dict>
		<key>RequestType</key>
		<string>EnableLostMode</string>
		<key>Message</key>
		<string>Please return this device.</string>
	</dict>
</dict>
</plist>`), &command.Options{UUID: "0003"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.UUID, c.RequestType)
	// Output: 0003 EnableLostMode
}
