package plist_test

import (
	"errors"
	"fmt"

	"github.com/mdmkit/mdmkit/internal/plist"
)

// A check-in decoded into a struct, and a command encoded for delivery.
func Example() {
	body := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>MessageType</key>
	<string>TokenUpdate</string>
	<key>Token</key>
	<data>
	AQIDBA==
	</data>
	<key>UDID</key>
	<string>0000-1111</string>
</dict>
</plist>`)
	var msg struct {
		MessageType string
		Token       []byte
		UDID        string `plist:"UDID"`
	}
	if err := plist.Unmarshal(body, &msg); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(msg.MessageType, msg.Token, msg.UDID)

	type command struct {
		RequestType string
		Queries     []string `plist:",omitempty"`
	}
	out, err := plist.Marshal(map[string]any{
		"CommandUUID": "c-1",
		"Command":     command{RequestType: "DeviceInformation", Queries: []string{"UDID"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// TokenUpdate [1 2 3 4] 0000-1111
	// <?xml version="1.0" encoding="UTF-8"?>
	// <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
	// <plist version="1.0">
	// <dict>
	// 	<key>Command</key>
	// 	<dict>
	// 		<key>RequestType</key>
	// 		<string>DeviceInformation</string>
	// 		<key>Queries</key>
	// 		<array>
	// 			<string>UDID</string>
	// 		</array>
	// 	</dict>
	// 	<key>CommandUUID</key>
	// 	<string>c-1</string>
	// </dict>
	// </plist>
}

// Limits bound what a device can make the decoder do; the error says
// which bound was hit and where.
func ExampleUnmarshalLimits() {
	body := []byte("<array><array><array><true/></array></array></array>")
	var v any
	err := plist.UnmarshalLimits(body, &v, plist.Limits{MaxDepth: 2})
	fmt.Println(errors.Is(err, plist.ErrLimit), err)
	// Output:
	// true plist: [0][0]: nested deeper than MaxDepth (offset 14)
}
