// Package web holds the server-rendered pages customers open from their
// personal links, embedded in the binary: no external asset is ever loaded.
package web

import "embed"

// Templates are the page templates (html/template).
//
//go:embed templates/*.html
var Templates embed.FS
