module github.com/mdmkit/mdmkit/bench

go 1.25.0

require (
	github.com/go-kit/kit v0.4.0
	github.com/mdmkit/mdmkit v0.0.0
	github.com/micromdm/nanolib v0.5.0
	github.com/micromdm/nanomdm v0.9.0
	github.com/micromdm/scep/v2 v2.3.0
	github.com/smallstep/pkcs7 v0.2.1
)

require (
	github.com/go-logfmt/logfmt v0.5.1 // indirect
	github.com/go-stack/stack v1.6.0 // indirect
	github.com/gorilla/context v0.0.0-20160226214623-1ea25387ff6f // indirect
	github.com/gorilla/mux v1.4.0 // indirect
	github.com/groob/finalizer v0.0.0-20170707115354-4c2ed49aabda // indirect
	github.com/micromdm/plist v0.2.1 // indirect
	github.com/pkg/errors v0.8.0 // indirect
	github.com/smallstep/scep v0.0.0-20241223071629-a37a330173bc // indirect
	golang.org/x/crypto v0.33.0 // indirect
	golang.org/x/net v0.34.0 // indirect
)

replace github.com/mdmkit/mdmkit => ../
