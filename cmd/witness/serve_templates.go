package main

import (
	"github.com/witness-media/witness/analyzers"
	"github.com/witness-media/witness/internal/api"
	"github.com/witness-media/witness/mixer"
)

// Business templates (web console → Administration) may name only the
// mixer's built-in layouts and the analyzers this binary registers. Package
// inits of the imports have run by now, so every analyzer is registered.
func init() { api.SetTemplateCatalog(mixer.Builtins(), analyzers.Names()) }
