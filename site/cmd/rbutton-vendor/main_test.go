package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the tests run this binary's main as a child process: by
// testscript's name, or with RBUTTON_VENDOR_MAIN=1 (the live tests).
func TestMain(m *testing.M) {
	if os.Getenv("RBUTTON_VENDOR_MAIN") == "1" {
		main()
	}
	testscript.Main(m, map[string]func(){
		"rbutton-vendor": main,
	})
}

// TestScripts runs testdata/script: configuration checks and refusals.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}
