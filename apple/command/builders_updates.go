package command

import "encoding/json"

// AvailableOSUpdates asks for the software updates available to the
// device; DecodeAvailableOSUpdates reads the answer. Apple deprecates it
// in OS 26 in favour of Declarative Device Management.
type AvailableOSUpdates struct{}

// RequestType returns "AvailableOSUpdates".
func (AvailableOSUpdates) RequestType() string { return "AvailableOSUpdates" }

// InstallAction is what ScheduleOSUpdate does with one update.
type InstallAction string

// InstallAction values.
const (
	// InstallDefault downloads or installs, depending on the state.
	InstallDefault InstallAction = "Default"
	// InstallDownloadOnly downloads without installing.
	InstallDownloadOnly InstallAction = "DownloadOnly"
	// InstallASAP installs a downloaded update (iOS, tvOS) or downloads
	// and starts the restart countdown (macOS).
	InstallASAP InstallAction = "InstallASAP"
	// InstallNotifyOnly downloads and notifies the user (macOS).
	InstallNotifyOnly InstallAction = "NotifyOnly"
	// InstallLater downloads and installs later (macOS).
	InstallLater InstallAction = "InstallLater"
	// InstallForceRestart installs and restarts if needed (macOS 11);
	// unsaved work may be lost.
	InstallForceRestart InstallAction = "InstallForceRestart"
)

// ScheduleOSUpdate downloads or installs software updates on a supervised
// device. Apple deprecates it in OS 26 in favour of Declarative Device
// Management.
type ScheduleOSUpdate struct {
	// Updates lists the updates. Required.
	Updates []OSUpdate `plist:"Updates" json:"Updates,omitempty"`
}

// OSUpdate is one entry of ScheduleOSUpdate.
type OSUpdate struct {
	// ProductKey names the update, as AvailableOSUpdates reports it.
	ProductKey string `plist:"ProductKey,omitempty" json:"ProductKey,omitempty"`
	// ProductVersion names the update by version when ProductKey is
	// empty (iOS 11.3, macOS 12, tvOS 12.2 and later).
	ProductVersion string `plist:"ProductVersion,omitempty" json:"ProductVersion,omitempty"`
	// InstallAction is what to do. Required.
	InstallAction InstallAction `plist:"InstallAction" json:"InstallAction,omitempty"`
	// MaxUserDeferrals is how often the user may postpone an InstallLater
	// minor update (macOS 12); zero leaves it out.
	MaxUserDeferrals int `plist:"MaxUserDeferrals,omitempty" json:"MaxUserDeferrals,omitempty"`
	// Priority is "Low" (the default) or "High" (macOS 12.3).
	Priority string `plist:"Priority,omitempty" json:"Priority,omitempty"`
}

// RequestType returns "ScheduleOSUpdate".
func (ScheduleOSUpdate) RequestType() string { return "ScheduleOSUpdate" }

// Validate requires at least one update, each named by ProductKey or
// ProductVersion, with a known InstallAction and Priority, and
// MaxUserDeferrals only for InstallLater.
func (c ScheduleOSUpdate) Validate() error {
	if len(c.Updates) == 0 {
		return invalidf("ScheduleOSUpdate needs at least one update")
	}
	for i, u := range c.Updates {
		if u.ProductKey == "" && u.ProductVersion == "" {
			return invalidf("ScheduleOSUpdate Updates[%d] needs a ProductKey or ProductVersion", i)
		}
		switch u.InstallAction {
		case InstallDefault, InstallDownloadOnly, InstallASAP, InstallNotifyOnly, InstallLater, InstallForceRestart:
		case "":
			return invalidf("ScheduleOSUpdate Updates[%d] needs an InstallAction", i)
		default:
			return invalidf("ScheduleOSUpdate Updates[%d] InstallAction %s is unknown", i, quote(string(u.InstallAction)))
		}
		if u.MaxUserDeferrals < 0 || (u.MaxUserDeferrals > 0 && u.InstallAction != InstallLater) {
			return invalidf("ScheduleOSUpdate Updates[%d] MaxUserDeferrals needs InstallLater and a positive count", i)
		}
		if u.Priority != "" && u.Priority != "Low" && u.Priority != "High" {
			return invalidf("ScheduleOSUpdate Updates[%d] Priority must be Low or High", i)
		}
	}
	return nil
}

// Settings changes device settings once (the user may change them back):
// device name, host name, organization info, MDM options, app
// configuration and attributes, roaming, Bluetooth, wallpaper, ...
type Settings struct {
	// Settings are the items; each has an "Item" key naming the setting
	// and that setting's keys, for example
	// {"Item": "DeviceName", "DeviceName": "Lab Mac 7"}. Required.
	Settings []Dict `plist:"Settings" json:"Settings,omitempty"`
}

// RequestType returns "Settings".
func (Settings) RequestType() string { return "Settings" }

// Validate requires at least one item, each with a non-empty Item string.
func (c Settings) Validate() error {
	if len(c.Settings) == 0 {
		return invalidf("Settings needs at least one item")
	}
	for i, s := range c.Settings {
		if item, _ := s["Item"].(string); item == "" {
			return invalidf("Settings item %d needs an Item string", i)
		}
	}
	return nil
}

// DeclarativeManagement turns on Declarative Device Management, or asks
// the device to synchronize with it. Any channel.
type DeclarativeManagement struct {
	// Data is the synchronization tokens JSON (a TokensResponse); empty
	// leaves it out.
	Data []byte `plist:"Data,omitempty" json:"Data,omitempty"`
}

// RequestType returns "DeclarativeManagement".
func (DeclarativeManagement) RequestType() string { return "DeclarativeManagement" }

// Validate requires Data, when set, to be a JSON object.
func (c DeclarativeManagement) Validate() error {
	if len(c.Data) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(c.Data, &obj); err != nil {
		return invalidWrap(err, "DeclarativeManagement Data is not a JSON object")
	}
	if obj == nil {
		return invalidf("DeclarativeManagement Data is not a JSON object")
	}
	return nil
}
