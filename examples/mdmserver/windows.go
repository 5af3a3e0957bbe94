package main

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/mdmkit/mdmkit/windows"
)

// Windows enrollment paths (the URL layout in DESIGN.md). Windows looks
// for discovery at /EnrollmentServer/Discovery.svc on the host
// EnterpriseEnrollment.<the domain of the user's e-mail address>;
// programmatic enrollment and the ms-device-enrollment: link may name any
// URL, so discovery is also served under /api/mdm/microsoft.
const (
	winDiscoveryWellKnown = "/EnrollmentServer/Discovery.svc"
	winDiscoveryPath      = "/api/mdm/microsoft/discovery"
	winPolicyPath         = "/api/mdm/microsoft/policy"
	winEnrollPath         = "/api/mdm/microsoft/enroll"
	// winAuthPath is the Federated AuthenticationServiceUrl: a page where
	// the user enters the enrollment token.
	winAuthPath = "/api/mdm/microsoft/auth"
	// winManagementPath is the management (SyncML) endpoint written into
	// the provisioning document.
	winManagementPath = "/api/mdm/microsoft/management"
)

// windowsPasswordFile holds the generated OnPremise password when neither
// -windows-password nor -windows-token is given.
const windowsPasswordFile = "windows-password.txt"

// windowsEndpoints serves the Windows enrollment handlers. The service
// names the public URL, which may depend on the port bound, so serve
// builds it and stores it before the server accepts connections.
type windowsEndpoints struct {
	svc atomic.Pointer[windows.Service]
	// unavailable says why svc is nil, for the operator.
	unavailable atomic.Value
}

func (e *windowsEndpoints) handler(pick func(*windows.Service) http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc := e.svc.Load()
		if svc == nil {
			msg, _ := e.unavailable.Load().(string)
			http.Error(w, "Windows enrollment unavailable: "+msg, http.StatusServiceUnavailable)
			return
		}
		pick(svc).ServeHTTP(w, r)
	})
}

func (e *windowsEndpoints) mount(mux *http.ServeMux) {
	discovery := e.handler((*windows.Service).DiscoveryHandler)
	mux.Handle(winDiscoveryWellKnown, discovery)
	mux.Handle(winDiscoveryPath, discovery)
	mux.Handle(winPolicyPath, e.handler((*windows.Service).PolicyHandler))
	mux.Handle(winEnrollPath, e.handler((*windows.Service).EnrollHandler))
	mux.Handle(winAuthPath, http.HandlerFunc(serveTokenPage))
}

// newWindows builds the enrollment service for devices that reach the
// server at public. Certificates are issued by the server's CA; the
// authenticators come from -windows-user/-windows-password (OnPremise)
// and -windows-token (Federated).
func (s *server) newWindows(public *url.URL) (*windows.Service, error) {
	ca, err := windows.NewLocalCA(s.ca, s.caKey, &windows.LocalCAOptions{Organization: "mdmkit"})
	if err != nil {
		return nil, err
	}
	opts := &windows.Options{
		EnrollmentURL: public.JoinPath(winEnrollPath).String(),
		PolicyURL:     public.JoinPath(winPolicyPath).String(),
		ManagementURL: public.JoinPath(winManagementPath).String(),
		ProviderName:  "mdmkit example server",
		Logger:        s.log.With("component", "windows"),
	}
	if s.windowsPassword != "" {
		opts.OnPremise = windows.StaticUser(s.cfg.WindowsUser, s.windowsPassword)
	}
	if s.cfg.WindowsToken != "" {
		opts.Federated = windows.StaticToken([]byte(s.cfg.WindowsToken), "token")
		opts.AuthenticationURL = public.JoinPath(winAuthPath).String()
	}
	return windows.New(s.store, ca, opts)
}

// tokenPage is the Federated sign-in page. Windows opens it in a web view
// with appru (where to send the token) and login_hint; the form posts the
// token the user enters to appru as wresult, which is what Windows expects
// from a security token service ([MS-MDE2] 3.2). The token is checked when
// the device presents it to the policy and enrollment services.
var tokenPage = template.Must(template.New("token").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>mdmkit enrollment</title></head>
<body>
<h1>Enroll in mdmkit</h1>
<form method="post" action="{{.AppRU}}">
<p><label>Enrollment token for {{.LoginHint}}<br><input type="password" name="wresult" autofocus required></label></p>
<p><button type="submit">Continue</button></p>
</form>
</body></html>
`))

func serveTokenPage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	appru := r.URL.Query().Get("appru")
	// Windows passes an ms-app:// callback; refusing anything else keeps
	// the page from posting a token to a web site.
	if !strings.HasPrefix(strings.ToLower(appru), "ms-app://") {
		http.Error(w, "appru must be an ms-app:// callback", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// appru is checked above, so it may stand as a URL in the form.
	_ = tokenPage.Execute(w, struct {
		AppRU     template.URL
		LoginHint string
	}{template.URL(appru), r.URL.Query().Get("login_hint")})
}
