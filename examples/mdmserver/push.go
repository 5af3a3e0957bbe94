package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/mdmkit/mdmkit/apple/apns"
	"github.com/mdmkit/mdmkit/apple/profile"
)

// pushSetup is how the server reaches APNs, if at all, and the topic it
// puts in the enrollment profile.
type pushSetup struct {
	// provider sends the pushes; nil means pushes are off.
	provider *apns.Provider
	// topic is the APNs topic devices enroll with.
	topic string
	// auth and topicFrom describe the setup for the start-up banner.
	auth      string
	topicFrom string
}

// newPushSetup reads the -apns-* configuration. With a push certificate
// the topic is the certificate's; with token authentication it is
// -apns-topic; with neither, pushes are off and the topic is -apns-topic
// or one generated on first start and stored in the data directory, so
// that the enrollment profile still works and devices enrolled now keep
// their topic across restarts.
func newPushSetup(cfg config, dataDir string, ca *x509.Certificate, logger *slog.Logger) (*pushSetup, error) {
	opts := &apns.Options{BaseURL: cfg.APNsURL, Logger: logger.With("component", "apns")}
	if cfg.APNsURL != "" {
		// A replacement APNs server is a test fake: trust the server's
		// own CA for it, besides the system roots.
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		roots.AddCert(ca)
		opts.RootCAs = roots
	}

	ps := &pushSetup{}
	switch {
	case cfg.APNsCert != "":
		pair, err := tls.LoadX509KeyPair(cfg.APNsCert, cfg.APNsKey)
		if err != nil {
			return nil, fmt.Errorf("-apns-cert and -apns-key: %w", err)
		}
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("-apns-cert: %w", err)
		}
		topic, err := apns.TopicFromCertificate(pair.Leaf)
		if err != nil {
			return nil, fmt.Errorf("-apns-cert: %w", err)
		}
		if cfg.APNsTopic != "" && cfg.APNsTopic != topic {
			return nil, fmt.Errorf("-apns-topic %q is not the topic of -apns-cert (%q); leave -apns-topic out", cfg.APNsTopic, topic)
		}
		if ps.provider, err = apns.NewWithCertificate(pair, opts); err != nil {
			return nil, fmt.Errorf("-apns-cert: %w", err)
		}
		ps.topic, ps.auth, ps.topicFrom = topic, "certificate "+cfg.APNsCert, "the push certificate"
	case cfg.APNsP8 != "":
		b, err := os.ReadFile(cfg.APNsP8)
		if err != nil {
			return nil, fmt.Errorf("-apns-p8: %w", err)
		}
		key, err := apns.ParseTokenKey(b)
		if err != nil {
			return nil, fmt.Errorf("-apns-p8: %w", err)
		}
		tk := apns.TokenKey{KeyID: cfg.APNsKeyID, TeamID: cfg.APNsTeamID, Key: key}
		if ps.provider, err = apns.NewWithToken(tk, cfg.APNsTopic, opts); err != nil {
			return nil, fmt.Errorf("APNs token authentication: %w", err)
		}
		ps.topic, ps.auth, ps.topicFrom = cfg.APNsTopic, "token, key "+cfg.APNsKeyID+" of team "+cfg.APNsTeamID, "-apns-topic"
	case cfg.APNsTopic != "":
		ps.topic, ps.topicFrom = cfg.APNsTopic, "-apns-topic"
	default:
		path := filepath.Join(dataDir, topicFile)
		topic, created, err := loadOrCreateText(path, 0o644, generateTopic)
		if err != nil {
			return nil, fmt.Errorf("APNs topic: %w", err)
		}
		if created {
			logger.Info("generated APNs topic", "file", path, "topic", topic)
		}
		ps.topic, ps.topicFrom = topic, "generated, stored in "+path
	}

	if ps.provider != nil {
		// Devices that enrolled while pushes were off carry the generated
		// topic, which no push certificate has.
		b, err := os.ReadFile(filepath.Join(dataDir, topicFile))
		if old := strings.TrimSpace(string(b)); err == nil && old != "" && old != ps.topic {
			logger.Warn("devices enrolled with the generated APNs topic cannot be pushed; enroll them again", "generated", old, "topic", ps.topic)
		}
	}
	return ps, nil
}

// generateTopic makes a topic in the form of a real MDM push
// certificate's. No push certificate has it, so nothing can be pushed to
// devices that enroll with it.
func generateTopic() (string, error) {
	u, err := profile.NewUUID(nil)
	if err != nil {
		return "", err
	}
	return "com.apple.mgmt.External." + strings.ToLower(u), nil
}
