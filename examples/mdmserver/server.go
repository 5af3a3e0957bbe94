package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mdmkit/mdmkit/scep"
)

// scepPath is where SCEP is mounted; every path below it is served too,
// since Windows appends /pkiclient.exe to the URL it is given.
const scepPath = "/mdm/apple/scep"

const shutdownTimeout = 10 * time.Second

// server is the prepared server: data directory read, CA and
// certificates ready, handlers built. serve runs it on listeners the
// caller chose.
type server struct {
	cfg       config
	log       *slog.Logger
	dataDir   string // absolute
	publicURL *url.URL
	ca        *x509.Certificate
	caKey     *rsa.PrivateKey
	tlsCert   tls.Certificate
	challenge string
	// signer and signerKey sign the enrollment profile.
	signer    *x509.Certificate
	signerKey crypto.Signer
	store     store
	// closeStore releases the store's files or connections.
	closeStore func() error
	// storeDesc says where the store is, for the start-up lines.
	storeDesc string
	push      *pushSetup
	// apiKeyFile is where the generated admin API key is; empty when
	// the key came from -api-key.
	apiKeyFile string
	enroll     *enrollHandler
	// windowsPassword is the OnPremise password: -windows-password, or
	// the one generated into windowsPasswordFile; empty when only
	// -windows-token is used.
	windowsPassword string
	// windowsPasswordFile is where the generated password is; empty when
	// it came from the flag.
	windowsPasswordFile string
	windows             *windowsEndpoints
	handler             http.Handler
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

// newServer prepares the data directory (creating the CA, the TLS and
// profile-signing certificates, the SCEP challenge, the admin API key and
// the APNs topic on first start), sets up APNs, opens the store and builds
// the handlers.
func newServer(cfg config, logger *slog.Logger) (*server, error) {
	s := &server{cfg: cfg, log: logger}
	var err error
	if s.dataDir, err = filepath.Abs(cfg.DataDir); err != nil {
		return nil, err
	}
	if cfg.PublicURL != "" {
		if s.publicURL, err = parsePublicURL(cfg.PublicURL); err != nil {
			return nil, err
		}
	}

	warning, err := prepareDataDir(s.dataDir)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		s.log.Warn(warning)
	}

	now := time.Now()
	s.ca, s.caKey, err = s.loadCA(now)
	if err != nil {
		return nil, err
	}
	hosts, err := tlsHosts(cfg.Addr, s.publicURL)
	if err != nil {
		return nil, err
	}
	var issued bool
	if s.tlsCert, issued, err = loadOrCreateTLS(s.dataDir, s.ca, s.caKey, hosts, now); err != nil {
		return nil, err
	}
	if issued {
		s.log.Info("issued TLS server certificate", "file", filepath.Join(s.dataDir, tlsCertFile), "names", strings.Join(hosts, ","), "not_after", s.tlsCert.Leaf.NotAfter)
	}

	s.challenge = cfg.SCEPChallenge
	if s.challenge == "" {
		var created bool
		if s.challenge, created, err = loadOrCreateChallenge(s.dataDir); err != nil {
			return nil, err
		}
		if created {
			s.log.Info("generated SCEP challenge", "file", filepath.Join(s.dataDir, challengeFile))
		}
	}
	if s.signer, s.signerKey, issued, err = loadOrCreateProfileSigner(s.dataDir, s.ca, s.caKey, now); err != nil {
		return nil, err
	}
	if issued {
		s.log.Info("issued profile-signing certificate", "file", filepath.Join(s.dataDir, profileSignerFile), "not_after", s.signer.NotAfter)
	}
	if err := s.loadWindowsPassword(); err != nil {
		return nil, err
	}
	apiKey, err := s.loadAPIKey()
	if err != nil {
		return nil, err
	}
	if s.push, err = newPushSetup(cfg, s.dataDir, s.ca, s.log); err != nil {
		return nil, err
	}
	if s.store, s.closeStore, s.storeDesc, err = openStore(context.Background(), cfg.DB, cfg.DBSchema, s.dataDir, s.log); err != nil {
		return nil, err
	}

	scepServer, err := s.newSCEP()
	if err != nil {
		return nil, err
	}
	mdm, err := s.newMDMHandler()
	if err != nil {
		return nil, err
	}
	queue, err := s.newQueue()
	if err != nil {
		return nil, err
	}
	// The enrollment profile names the public URL, which may depend on
	// the port bound; serve fills it in.
	s.enroll = &enrollHandler{unavailable: "not built yet"}
	admin := newAdminAPI(apiKey, s.store, queue, s.push.provider != nil, s.log.With("component", "admin"))

	mux := http.NewServeMux()
	mux.Handle(scepPath, scepServer)
	mux.Handle(scepPath+"/", scepServer)
	mux.Handle(mdmPath, mdm)
	mux.Handle(enrollPath, s.enroll)
	mux.Handle(adminPrefix, admin)
	s.windows = &windowsEndpoints{}
	s.windows.unavailable.Store("not built yet")
	s.windows.mount(mux)
	s.handler = mux
	return s, nil
}

// loadWindowsPassword sets the OnPremise password: -windows-password, or
// none when only -windows-token is given, or the one stored in the data
// directory, generated on first start.
func (s *server) loadWindowsPassword() error {
	switch {
	case s.cfg.WindowsPassword != "":
		s.windowsPassword = s.cfg.WindowsPassword
		return nil
	case s.cfg.WindowsToken != "":
		return nil
	}
	path := filepath.Join(s.dataDir, windowsPasswordFile)
	pw, created, err := loadOrCreateText(path, 0o600, func() (string, error) { return randomHex(12) })
	if err != nil {
		return fmt.Errorf("windows enrollment password: %w", err)
	}
	if created {
		s.log.Info("generated Windows enrollment password", "file", path)
	}
	s.windowsPassword, s.windowsPasswordFile = pw, path
	return nil
}

// loadAPIKey returns -api-key, or the key stored in the data directory,
// generated on first start.
func (s *server) loadAPIKey() (string, error) {
	if s.cfg.APIKey != "" {
		return s.cfg.APIKey, nil
	}
	path := filepath.Join(s.dataDir, apiKeyFile)
	// 256 random bits as 64 hex digits.
	key, created, err := loadOrCreateText(path, 0o600, func() (string, error) { return randomHex(32) })
	if err != nil {
		return "", fmt.Errorf("admin API key: %w", err)
	}
	if len(key) < minAPIKeyLen {
		return "", fmt.Errorf("the admin API key in %s is shorter than %d characters", path, minAPIKeyLen)
	}
	if created {
		s.log.Info("generated admin API key", "file", path)
	}
	s.apiKeyFile = path
	return key, nil
}

func (s *server) loadCA(now time.Time) (*x509.Certificate, *rsa.PrivateKey, error) {
	ca, key, created, err := loadOrCreateCA(s.dataDir, now)
	if err != nil {
		return nil, nil, err
	}
	msg := "loaded CA"
	if created {
		msg = "created CA"
	}
	s.log.Info(msg, "file", filepath.Join(s.dataDir, caCertFile), "subject", ca.Subject.String(), "not_after", ca.NotAfter)
	return ca, key, nil
}

// newSCEP builds the SCEP server: the CA is its own RA and signs with the
// key in the data directory; every request carrying the challenge is
// admitted.
func (s *server) newSCEP() (*scep.Server, error) {
	ca, err := scep.NewLocalCA(s.ca, s.caKey, nil)
	if err != nil {
		return nil, err
	}
	// Issued certificates go to the shared store (see openStore).
	return scep.New(
		scep.RA{Certificate: s.ca, Signer: s.caKey, Decrypter: s.caKey},
		ca,
		scep.StaticChallenge(s.challenge),
		s.store,
		&scep.Options{Legacy: s.cfg.SCEPLegacy, Logger: s.log.With("component", "scep")},
	)
}

// serve prints what it serves to stdout, serves HTTPS on httpsLn and, when
// not nil, plain HTTP on httpLn until ctx is done or a listener fails,
// then shuts both servers down gracefully. It closes the listeners.
func (s *server) serve(ctx context.Context, httpsLn, httpLn net.Listener, stdout io.Writer, ready func(httpsAddr, httpAddr net.Addr)) error {
	public := s.publicURL
	if public == nil {
		_, port, _ := net.SplitHostPort(httpsLn.Addr().String())
		public = &url.URL{Scheme: "https", Host: net.JoinHostPort("localhost", port)}
	}
	// Set before any connection is accepted, and never changed again.
	if body, err := s.enrollmentProfile(public); err != nil {
		s.enroll.body, s.enroll.unavailable = nil, err.Error()
		s.log.Warn("enrollment profile unavailable", "err", err)
	} else {
		s.enroll.body = body
	}
	if svc, err := s.newWindows(public); err != nil {
		s.windows.unavailable.Store(err.Error())
		s.log.Warn("Windows enrollment unavailable", "err", err)
	} else {
		s.windows.svc.Store(svc)
	}
	s.printBanner(stdout, public, httpsLn, httpLn)
	if s.push.provider == nil {
		s.log.Warn("APNs not configured: pushes are off")
	}

	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	httpsSrv := newHTTPServer(s.handler, errLog)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(s.ca)
	httpsSrv.TLSConfig = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{s.tlsCert},
		// Devices may present their identity certificate; nothing else
		// needs one. The TLS layer checks that the client holds the key;
		// the MDM handler checks the chain (with a clock-skew tolerance
		// the handshake lacks) and ignores a certificate when the request
		// carries an Mdm-Signature. ClientCAs tells clients which
		// certificate to pick.
		ClientAuth: tls.RequestClientCert,
		ClientCAs:  clientCAs,
	}
	servers := []*http.Server{httpsSrv}
	errc := make(chan error, 2)
	go func() { errc <- httpsSrv.ServeTLS(httpsLn, "", "") }()
	var httpAddr net.Addr
	if httpLn != nil {
		httpSrv := newHTTPServer(s.handler, errLog)
		servers = append(servers, httpSrv)
		go func() { errc <- httpSrv.Serve(httpLn) }()
		httpAddr = httpLn.Addr()
	}
	attrs := []any{"https", httpsLn.Addr().String()}
	if httpAddr != nil {
		attrs = append(attrs, "http", httpAddr.String())
	}
	s.log.Info("serving", append(attrs, "public_url", public.String())...)
	if ready != nil {
		ready(httpsLn.Addr(), httpAddr)
	}

	var failed error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
	case failed = <-errc:
		failed = fmt.Errorf("serve: %w", failed)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	if s.push.provider != nil {
		s.push.provider.CloseIdleConnections()
	}
	// Wait for the Serve calls still running, so the listeners are closed
	// when serve returns.
	remaining := len(servers)
	if failed != nil {
		remaining--
	}
	for ; remaining > 0; remaining-- {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serve: %w", err))
		}
	}
	return errors.Join(append([]error{failed}, errs...)...)
}

func newHTTPServer(h http.Handler, errLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ErrorLog:          errLog, // TLS handshake failures, panics in handlers
		ReadHeaderTimeout: 10 * time.Second,
		// A PKIOperation body is at most a few hundred KiB; a client
		// slower than this is not worth a connection.
		ReadTimeout:  60 * time.Second,
		WriteTimeout: 60 * time.Second,
		IdleTimeout:  120 * time.Second,
	}
}

// printBanner tells the operator where things are. It prints the SCEP
// challenge on purpose: this is an example server for test devices, and
// the challenge is what an operator pastes into a profile or client.
func (s *server) printBanner(w io.Writer, public *url.URL, httpsLn, httpLn net.Listener) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "mdmkit example server\n")
	fmt.Fprintf(tw, "  data directory\t%s\n", s.dataDir)
	fmt.Fprintf(tw, "  store\t%s\n", s.storeDesc)
	fmt.Fprintf(tw, "  CA certificate\t%s\t(trust it on test devices)\n", filepath.Join(s.dataDir, caCertFile))
	fmt.Fprintf(tw, "  HTTPS\t%s\n", localURL("https", httpsLn.Addr()))
	if httpLn != nil {
		fmt.Fprintf(tw, "  HTTP\t%s\n", localURL("http", httpLn.Addr()))
	}
	fmt.Fprintf(tw, "  public URL\t%s\n", public)
	fmt.Fprintf(tw, "  SCEP URL\t%s\t(also %s/pkiclient.exe)\n", public.JoinPath(scepPath), scepPath)
	if httpLn != nil {
		fmt.Fprintf(tw, "  SCEP URL, HTTP\t%s\n", localURL("http", httpLn.Addr())+strings.TrimPrefix(scepPath, "/"))
	}
	fmt.Fprintf(tw, "  SCEP challenge\t%s\n", s.challenge)
	if s.cfg.SCEPLegacy {
		fmt.Fprintf(tw, "  SCEP legacy\ton (single-DES requests accepted)\n")
	}
	fmt.Fprintf(tw, "  MDM URL\t%s\n", public.JoinPath(mdmPath))
	if s.enroll.body != nil {
		fmt.Fprintf(tw, "  enrollment profile\t%s\n", public.JoinPath(enrollPath))
	} else {
		fmt.Fprintf(tw, "  enrollment profile\tunavailable: %s\n", s.enroll.unavailable)
	}
	fmt.Fprintf(tw, "  APNs topic\t%s\t(%s)\n", s.push.topic, s.push.topicFrom)
	if s.push.provider != nil {
		fmt.Fprintf(tw, "  APNs\t%s\n", s.push.auth)
	}
	if s.windows.svc.Load() != nil {
		fmt.Fprintf(tw, "  Windows discovery\t%s\t(also %s)\n", public.JoinPath(winDiscoveryWellKnown), winDiscoveryPath)
		if s.windowsPassword != "" {
			user := s.cfg.WindowsUser
			if user == "" {
				user = "any e-mail address"
			}
			fmt.Fprintf(tw, "  Windows user\t%s\n", user)
			if s.windowsPasswordFile != "" {
				fmt.Fprintf(tw, "  Windows password\t%s\t(%s)\n", s.windowsPassword, s.windowsPasswordFile)
			} else {
				fmt.Fprintf(tw, "  Windows password\tfrom -windows-password or %s\n", envName("windows-password"))
			}
		}
		if s.cfg.WindowsToken != "" {
			fmt.Fprintf(tw, "  Windows token\tfrom -windows-token or %s\t(sign-in page %s)\n", envName("windows-token"), public.JoinPath(winAuthPath))
		}
	} else {
		msg, _ := s.windows.unavailable.Load().(string)
		fmt.Fprintf(tw, "  Windows enrollment\tunavailable: %s\n", msg)
	}
	fmt.Fprintf(tw, "  admin API\t%s\n", public.JoinPath(adminPrefix))
	if s.apiKeyFile != "" {
		fmt.Fprintf(tw, "  admin API key\t%s\t(send Authorization: Bearer <its content>)\n", s.apiKeyFile)
	} else {
		fmt.Fprintf(tw, "  admin API key\tfrom -api-key or %s\n", envName("api-key"))
	}
	tw.Flush()
	if s.push.provider == nil {
		fmt.Fprintf(w, "APNs not configured: pushes are off; commands wait until a device checks in by itself. Set -apns-cert and -apns-key (or -apns-key-id, -apns-team-id, -apns-p8 and -apns-topic) to push.\n")
	}
}

// localURL is a URL for a bound address, naming localhost when the
// listener is on every interface.
func localURL(scheme string, a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return scheme + "://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

func parsePublicURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("-public-url: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Hostname() == "" {
		return nil, fmt.Errorf("-public-url %q: want an http or https URL with a host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("-public-url %q: want a base URL without user, query or fragment", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// tlsHosts lists the names the TLS certificate must cover: localhost and
// the loopback addresses, the host of -addr when it names one, and the
// host of the public URL.
func tlsHosts(addr string, public *url.URL) ([]string, error) {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		hosts = append(hosts, host)
	}
	if public != nil {
		hosts = append(hosts, public.Hostname())
	}
	seen := map[string]bool{}
	var out []string
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		} else {
			h = strings.ToLower(strings.TrimSuffix(h, "."))
		}
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out, nil
}
