package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rbutton/rbutton/bench"
)

// hostEnv isolates a host process: its database and anything it might
// write under the user's home or config directories live in dir.
func hostEnv(dir, db string) []string {
	return []string{
		"RBUTTON_DB=" + db,
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
	}
}

// startHost starts bin/rbutton in native-messaging host mode, as Chromium
// does (argv[1] is the calling extension's origin), on database db.
func startHost(c *config, dir, db string) (*bench.Host, error) {
	if err := needBinary(c.rbutton); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return bench.Start("rbutton", c.rbutton, []string{"chrome-extension://" + c.extID + "/"}, hostEnv(dir, db))
}

// startEcho starts the baseline echo host with the same arguments.
func startEcho(c *config) (*bench.Host, error) {
	return bench.Start("echohost", c.echo, []string{"chrome-extension://" + c.extID + "/"}, nil)
}

func needBinary(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s not found; run `make build` first", path)
	}
	return nil
}
