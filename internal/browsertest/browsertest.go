// Package browsertest opens kafkasim's HTML reports in headless Chromium
// (Debian's chromium package) for tests that assert what a page says.
// Without a browser the tests skip, unless KAFKASIM_REQUIRE_BROWSER is set
// (CI sets it), when they fail.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium returns the path of a Chromium binary, or skips (fails, with
// KAFKASIM_REQUIRE_BROWSER) the test.
func Chromium(tb testing.TB) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("KAFKASIM_REQUIRE_BROWSER") != "" {
		tb.Fatal("no chromium on PATH, and KAFKASIM_REQUIRE_BROWSER is set: install Debian's chromium package")
	}
	tb.Skip("no chromium on PATH: install Debian's chromium package to run the browser tests")
	return ""
}

// Browser starts headless Chromium with the flags a closed network needs
// and returns its context and the function that stops it.
func Browser(tb testing.TB) (context.Context, context.CancelFunc) {
	// The profile is removed best-effort: chromium may still be writing to
	// it while it exits.
	profile, err := os.MkdirTemp("", "kafkasim-chromium-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(tb)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1600),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	return ctx, func() { cancelTimeout(); cancelCtx(); cancelAlloc() }
}

// Load opens a report file in the browser and returns the console errors
// and uncaught exceptions it produced.
func Load(ctx context.Context, path string) ([]string, error) {
	var errs []string
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			errs = append(errs, "exception: "+e.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeAssert {
				errs = append(errs, fmt.Sprintf("console.%s", e.Type))
			}
		case *log.EventEntryAdded:
			if e.Entry.Level == log.LevelError {
				errs = append(errs, "log: "+e.Entry.Text)
			}
		}
	})
	err := chromedp.Run(ctx, log.Enable(), chromedp.Navigate("file://"+path), chromedp.WaitReady("body"))
	return errs, err
}
