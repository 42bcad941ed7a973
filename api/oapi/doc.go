// Package oapi is generated from api/openapi.yaml by oapi-codegen: the /v1
// request and answer types, the strict server interface that api.Server
// implements, and the Echo routing. Do not edit server.gen.go: change the
// document and run `make generate`; TestGeneratedCodeIsCurrent fails when
// the committed code lags behind the document.
package oapi

//go:generate go tool oapi-codegen -config config.yaml ../openapi.yaml
