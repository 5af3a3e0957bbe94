module github.com/mdmkit/mdmkit

go 1.21
