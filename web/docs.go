package web

import _ "embed"

// RedocJS is Redoc's standalone bundle (MIT, see docs/REDOC-LICENSE), vendored
// from the npm package so that /docs works offline.
//
//go:embed docs/redoc.standalone.js
var RedocJS []byte
