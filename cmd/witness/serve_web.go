package main

import web "github.com/witness-media/witness/console/web"

// `witness serve` serves the web console at / (control role).
func init() { web.Register() }
