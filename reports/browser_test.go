package reports_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/reports"
)

// chromium finds Debian's chromium. Without it the browser tests skip,
// unless KAFKASIM_REQUIRE_BROWSER is set (CI sets it), when they fail.
func chromium(tb testing.TB) string {
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

// browser starts headless chromium with the flags a closed network needs.
func browser(tb testing.TB) (context.Context, context.CancelFunc) {
	// The profile is removed best-effort: chromium may still be writing to
	// it while it exits.
	profile, err := os.MkdirTemp("", "kafkasim-chromium-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(tb)),
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

// load opens a report file in the browser and returns the console errors
// and uncaught exceptions it produced.
func load(ctx context.Context, path string) ([]string, error) {
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

// TestRunReportInBrowser loads a report with 100,000 operations in headless
// Chromium: no console errors, the verdict and the replay command are on
// the page, and a screenshot is taken.
func TestRunReportInBrowser(t *testing.T) {
	ctx, cancel := browser(t)
	defer cancel()
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	require.NoError(t, reports.WriteFile(path, func(w io.Writer) error { return reports.WriteRun(w, sampleRun(100_000)) }))

	start := time.Now()
	errs, err := load(ctx, path)
	require.NoError(t, err)
	var verdict, replay string
	var lanesHeight int
	var cursor string
	var shot []byte
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Text("#verdict", &verdict),
		chromedp.Text("#replay", &replay),
		chromedp.Evaluate(`document.getElementById("lanes-canvas").height`, &lanesHeight),
		// Clicking a finding marks its moment on every timeline.
		chromedp.Evaluate(`document.querySelector("tr.finding").click(); document.querySelector(".cursor").style.display`, &cursor),
		chromedp.FullScreenshot(&shot, 100),
	))
	t.Logf("loaded and rendered in %v", time.Since(start))
	require.Empty(t, errs, "the page logged errors")
	require.Contains(t, verdict, "lost-write: 3 acknowledged writes lost on orders-0")
	require.Equal(t, "kafkasim run unclean-election-loss --seed 42", strings.TrimSpace(replay))
	require.Positive(t, lanesHeight, "the client lanes were drawn")
	require.Equal(t, "block", cursor, "clicking a finding shows the time cursor")
	out := os.Getenv("KAFKASIM_SCREENSHOT_DIR")
	if out == "" {
		out = dir
	}
	shotPath := filepath.Join(out, "run-report.png")
	require.NoError(t, os.WriteFile(shotPath, shot, 0o644))
	t.Logf("screenshot: %s (%d bytes)", shotPath, len(shot))
}

// TestComparisonAndSweepReportsInBrowser loads the other two reports: no
// console errors, and the verdict is on the page.
func TestComparisonAndSweepReportsInBrowser(t *testing.T) {
	for name, render := range map[string]func(io.Writer) error{
		"comparison": func(w io.Writer) error { return reports.WriteComparison(w, sampleComparison()) },
		"sweep":      func(w io.Writer) error { return reports.WriteSweep(w, sampleSweep()) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := browser(t)
			defer cancel()
			path := filepath.Join(t.TempDir(), name+".html")
			require.NoError(t, reports.WriteFile(path, render))
			errs, err := load(ctx, path)
			require.NoError(t, err)
			var verdict string
			require.NoError(t, chromedp.Run(ctx, chromedp.Text("#verdict", &verdict)))
			require.Empty(t, errs, "the page logged errors")
			require.NotEmpty(t, verdict)
		})
	}
}
