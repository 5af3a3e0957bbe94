package main

import (
	"context"
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
	"github.com/mdmkit/mdmkit/storage/memory"
)

// scepPath is where SCEP is mounted; every path below it is served too,
// since Windows appends /pkiclient.exe to the URL it is given.
const scepPath = "/mdm/apple/scep"

const shutdownTimeout = 10 * time.Second

// server is the prepared server: data directory read, CA and TLS
// certificate ready, handlers built. serve runs it on listeners the caller
// chose.
type server struct {
	cfg       config
	log       *slog.Logger
	dataDir   string // absolute
	publicURL *url.URL
	ca        *x509.Certificate
	caKey     *rsa.PrivateKey
	tlsCert   tls.Certificate
	challenge string
	handler   http.Handler
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

// newServer prepares the data directory (creating the CA, the TLS
// certificate and the SCEP challenge on first start) and builds the
// handlers.
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

	scepServer, err := s.newSCEP()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(scepPath, scepServer)
	mux.Handle(scepPath+"/", scepServer)
	s.handler = mux
	return s, nil
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
	// Issued certificates are kept in memory for now and lost on restart:
	// after one, RenewalReq and GetCert for older certificates are refused
	// (badCertID). A later change keeps them in an embedded SQLite store in
	// the data directory.
	store := memory.New()
	return scep.New(
		scep.RA{Certificate: s.ca, Signer: s.caKey, Decrypter: s.caKey},
		ca,
		scep.StaticChallenge(s.challenge),
		store,
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
	s.printBanner(stdout, public, httpsLn, httpLn)

	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	httpsSrv := newHTTPServer(s.handler, errLog)
	httpsSrv.TLSConfig = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{s.tlsCert},
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
	tw.Flush()
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
