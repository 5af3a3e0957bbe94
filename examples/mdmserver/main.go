// Command mdmserver is a runnable device-management server built on mdmkit.
// It serves SCEP (RFC 8894) for Apple and Windows devices and for other
// SCEP clients, Apple MDM (check-in, commands, a signed enrollment
// profile, APNs pushes), Windows enrollment (discovery, certificate policy
// and enrollment, with a password or a token) and an admin API. Windows
// management sessions are not served yet.
//
// With no flags it creates a data directory (./mdmserver-data) holding a
// CA, a TLS certificate for localhost signed by that CA, a profile-signing
// certificate, a random SCEP challenge, an admin API key and an APNs
// topic, then serves HTTPS on :8443:
//
//	go run ./examples/mdmserver
//
// URL paths:
//
//	/mdm/apple/scep         SCEP (GET and POST), and every path below it,
//	                        such as /mdm/apple/scep/pkiclient.exe for Windows
//	/mdm/apple/mdm          Apple check-in and command endpoint
//	/api/mdm/apple/enroll   the signed enrollment profile (GET)
//	/EnrollmentServer/Discovery.svc and /api/mdm/microsoft/discovery
//	                        Windows discovery (GET probe and POST)
//	/api/mdm/microsoft/policy   Windows certificate policy (MS-XCEP)
//	/api/mdm/microsoft/enroll   Windows enrollment (MS-WSTEP)
//	/api/mdm/microsoft/auth     Windows Federated sign-in page (-windows-token)
//	/v1/...                 admin API (bearer API key), see openapi.yaml
//
// Without -apns-cert and -apns-key (or the token-auth flags) pushes are
// off: commands are queued and wait until a device checks in by itself.
//
// Every flag can also be set with an environment variable named
// MDMKIT_ followed by the flag name in upper case with dashes turned into
// underscores (MDMKIT_SCEP_CHALLENGE for -scep-challenge). A flag given on
// the command line wins over its variable.
//
// Issued certificates, enrollments and command queues are kept in memory
// and forgotten on restart; the CA, certificates, challenge, API key and
// topic persist in the data directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// envPrefix starts the name of the environment variable behind each flag.
const envPrefix = "MDMKIT_"

// config is the server configuration, from flags and the environment.
type config struct {
	// Addr is the HTTPS listen address.
	Addr string
	// HTTPAddr, when set, is an extra plain-HTTP listen address serving
	// the same handlers.
	HTTPAddr string
	// DataDir holds the CA, the TLS certificate and the SCEP challenge.
	DataDir string
	// PublicURL is the base URL devices are told to use; empty means
	// https://localhost:PORT with the HTTPS listener's port.
	PublicURL string
	// SCEPChallenge is the static SCEP challenge; empty means the one
	// stored in DataDir, generated on first start.
	SCEPChallenge string
	// SCEPLegacy accepts single-DES SCEP envelopes from old clients.
	SCEPLegacy bool
	// APIKey is the admin API's bearer key; empty means the one stored in
	// DataDir, generated on first start.
	APIKey string
	// APNsCert and APNsKey are PEM files of the MDM push certificate and
	// its key (certificate authentication; the topic is the
	// certificate's).
	APNsCert string
	APNsKey  string
	// APNsKeyID, APNsTeamID and APNsP8 select token authentication with
	// the .p8 key at APNsP8; APNsTopic is then required.
	APNsKeyID  string
	APNsTeamID string
	APNsP8     string
	// APNsTopic is the push topic put in the enrollment profile. With a
	// push certificate it must be empty or match the certificate's; with
	// neither certificate nor token empty means a topic generated once
	// and stored in DataDir.
	APNsTopic string
	// DB names the store: "sqlite:PATH", a postgres:// URL, or "memory";
	// empty means sqlite:DataDir/mdm.db.
	DB string
	// DBSchema is the PostgreSQL schema of the tables; empty means the
	// connection's search_path (normally public).
	DBSchema string
	// WindowsUser and WindowsPassword are the OnPremise credentials
	// Windows devices enroll with; an empty user accepts any user name.
	// Without -windows-password and -windows-token a password is generated
	// once and stored in DataDir.
	WindowsUser     string
	WindowsPassword string
	// WindowsToken is a static Federated enrollment token.
	WindowsToken string
	// APNsURL replaces the APNs server; tests point it at a local fake.
	// It is read from MDMKIT_APNS_URL only, not from a flag.
	APNsURL string
}

// apnsURLEnv names the variable behind config.APNsURL, for testing only.
const apnsURLEnv = envPrefix + "APNS_URL"

// minAPIKeyLen is the shortest -api-key accepted.
const minAPIKeyLen = 16

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mdmserver:", err)
		os.Exit(1)
	}
}

// run parses args (and the environment through getenv), prepares the data
// directory, listens, prints what it serves to stdout and serves until ctx
// is done, then shuts down gracefully. Logs go to stderr. ready, when not
// nil, is called once both listeners are bound, with their addresses
// (httpAddr is nil without -http-addr); tests use it with port 0.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready func(httpsAddr, httpAddr net.Addr)) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(stderr)
	srv, err := newServer(cfg, logger)
	if err != nil {
		return err
	}
	defer srv.closeStore()

	var lc net.ListenConfig
	httpsLn, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on -addr: %w", err)
	}
	var httpLn net.Listener
	if cfg.HTTPAddr != "" {
		httpLn, err = lc.Listen(ctx, "tcp", cfg.HTTPAddr)
		if err != nil {
			httpsLn.Close()
			return fmt.Errorf("listen on -http-addr: %w", err)
		}
	}
	return srv.serve(ctx, httpsLn, httpLn, stdout, ready)
}

// parseConfig reads the flags in args; a flag not given takes its value
// from its MDMKIT_ environment variable when that is set and not empty.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("mdmserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", ":8443", "HTTPS listen `address`")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "", "extra plain-HTTP listen `address` (for example 127.0.0.1:8080); none when empty")
	fs.StringVar(&cfg.DataDir, "data", "./mdmserver-data", "data `directory` for the CA, TLS certificate and SCEP challenge")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "base `URL` devices are told to use (default https://localhost:PORT)")
	fs.StringVar(&cfg.SCEPChallenge, "scep-challenge", "", "static SCEP challenge `password` (default: random, generated once and stored in the data directory)")
	fs.BoolVar(&cfg.SCEPLegacy, "scep-legacy", false, "accept single-DES SCEP envelopes from old clients (such as scepclient 2.1)")
	fs.StringVar(&cfg.APIKey, "api-key", "", "admin API bearer `key`, at least 16 characters (default: random, generated once and stored in the data directory)")
	fs.StringVar(&cfg.APNsCert, "apns-cert", "", "MDM push certificate PEM `file` (with -apns-key); the APNs topic is the certificate's")
	fs.StringVar(&cfg.APNsKey, "apns-key", "", "private key PEM `file` of -apns-cert")
	fs.StringVar(&cfg.APNsKeyID, "apns-key-id", "", "APNs token authentication: key `ID` of -apns-p8")
	fs.StringVar(&cfg.APNsTeamID, "apns-team-id", "", "APNs token authentication: developer team `ID`")
	fs.StringVar(&cfg.APNsP8, "apns-p8", "", "APNs token authentication: the .p8 key `file` (needs -apns-key-id, -apns-team-id and -apns-topic)")
	fs.StringVar(&cfg.APNsTopic, "apns-topic", "", "APNs `topic` for the enrollment profile (default: the push certificate's; without APNs, generated once and stored in the data directory)")
	fs.StringVar(&cfg.DB, "db", "", "the store: `sqlite:PATH`, a postgres:// URL, or memory (default sqlite: mdm.db in the data directory)")
	fs.StringVar(&cfg.DBSchema, "db-schema", "", "PostgreSQL `schema` for the tables (default: the connection's search_path, normally public)")
	fs.StringVar(&cfg.WindowsUser, "windows-user", "", "Windows OnPremise enrollment: the user `name` (an e-mail address) devices enroll with (default: any)")
	fs.StringVar(&cfg.WindowsPassword, "windows-password", "", "Windows OnPremise enrollment: the `password` (default: random, generated once and stored in the data directory, unless -windows-token is given)")
	fs.StringVar(&cfg.WindowsToken, "windows-token", "", "Windows Federated enrollment: a static enrollment `token` devices (or their agent) present")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: mdmserver [flags]\n\nEach flag may also be set with an environment variable, -scep-challenge with %sSCEP_CHALLENGE\nand so on; the command line wins.\n\nFlags:\n", envPrefix)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v := getenv(name)
		if given[f.Name] || v == "" || envErr != nil {
			return
		}
		// Set parses the value as the command line would (a bool accepts
		// 1, true, false, ...).
		if err := fs.Set(f.Name, v); err != nil {
			envErr = fmt.Errorf("%s=%q: invalid value for -%s: %w", name, v, f.Name, err)
		}
	})
	if envErr != nil {
		return config{}, envErr
	}

	if cfg.Addr == "" {
		return config{}, errors.New("-addr is required")
	}
	if cfg.DataDir == "" {
		return config{}, errors.New("-data is required")
	}
	if cfg.APIKey != "" && len(cfg.APIKey) < minAPIKeyLen {
		return config{}, fmt.Errorf("-api-key is shorter than %d characters", minAPIKeyLen)
	}
	if cfg.WindowsUser != "" && cfg.WindowsPassword == "" && cfg.WindowsToken != "" {
		return config{}, errors.New("-windows-user needs -windows-password")
	}
	if err := checkAPNsFlags(cfg); err != nil {
		return config{}, err
	}
	cfg.APNsURL = getenv(apnsURLEnv)
	return cfg, nil
}

// checkAPNsFlags accepts either certificate authentication (-apns-cert
// with -apns-key), token authentication (-apns-key-id, -apns-team-id and
// -apns-p8, with -apns-topic) or neither.
func checkAPNsFlags(cfg config) error {
	certAuth := cfg.APNsCert != "" || cfg.APNsKey != ""
	tokenAuth := cfg.APNsKeyID != "" || cfg.APNsTeamID != "" || cfg.APNsP8 != ""
	switch {
	case certAuth && tokenAuth:
		return errors.New("-apns-cert/-apns-key and -apns-key-id/-apns-team-id/-apns-p8 are two ways to authenticate to APNs; give one")
	case certAuth && (cfg.APNsCert == "" || cfg.APNsKey == ""):
		return errors.New("-apns-cert and -apns-key go together")
	case tokenAuth && (cfg.APNsKeyID == "" || cfg.APNsTeamID == "" || cfg.APNsP8 == ""):
		return errors.New("APNs token authentication needs -apns-key-id, -apns-team-id and -apns-p8")
	case tokenAuth && cfg.APNsTopic == "":
		return errors.New("APNs token authentication needs -apns-topic, the topic devices enroll with")
	}
	if cfg.APNsTopic != "" && !strings.HasPrefix(cfg.APNsTopic, "com.apple.mgmt.") {
		return fmt.Errorf("-apns-topic %q: MDM topics begin with com.apple.mgmt.", cfg.APNsTopic)
	}
	return nil
}

// envName maps a flag name to its environment variable: scep-challenge to
// MDMKIT_SCEP_CHALLENGE.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
