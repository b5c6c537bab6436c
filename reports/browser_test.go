package reports_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/internal/browsertest"
	"github.com/kafkasim/kafkasim/reports"
)

// TestRunReportInBrowser loads a report with 100,000 operations in headless
// Chromium: no console errors, the verdict and the replay command are on
// the page, and a screenshot is taken.
func TestRunReportInBrowser(t *testing.T) {
	ctx, cancel := browsertest.Browser(t)
	defer cancel()
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	require.NoError(t, reports.WriteFile(path, func(w io.Writer) error { return reports.WriteRun(w, sampleRun(100_000)) }))

	start := time.Now()
	errs, err := browsertest.Load(ctx, path)
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
			ctx, cancel := browsertest.Browser(t)
			defer cancel()
			path := filepath.Join(t.TempDir(), name+".html")
			require.NoError(t, reports.WriteFile(path, render))
			errs, err := browsertest.Load(ctx, path)
			require.NoError(t, err)
			var verdict string
			require.NoError(t, chromedp.Run(ctx, chromedp.Text("#verdict", &verdict)))
			require.Empty(t, errs, "the page logged errors")
			require.NotEmpty(t, verdict)
		})
	}
}

// TestTransactionTimelineInBrowser loads a run whose partition had
// transactions: the page says what its markers are, and draws one glyph
// per marker, each telling its producer and offset.
func TestTransactionTimelineInBrowser(t *testing.T) {
	ctx, cancel := browsertest.Browser(t)
	defer cancel()
	path := filepath.Join(t.TempDir(), "txn.html")
	require.NoError(t, reports.WriteFile(path, func(w io.Writer) error { return reports.WriteRun(w, txnTimelineRun()) }))
	errs, err := browsertest.Load(ctx, path)
	require.NoError(t, err)
	var note string
	var commits, aborts []string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Text("p.txns", &note),
		chromedp.Evaluate(`[...document.querySelectorAll(".marker.commit title")].map(e => e.textContent)`, &commits),
		chromedp.Evaluate(`[...document.querySelectorAll(".marker.abort title")].map(e => e.textContent)`, &aborts),
	))
	require.Empty(t, errs, "the page logged errors")
	require.Contains(t, note, "Transactions: 1 commit marker and 1 abort marker")
	require.Equal(t, []string{"1s (step 10): commit marker of producer 7 at offset 3"}, commits)
	require.Equal(t, []string{"2s (step 20): abort marker of producer 8 at offset 5"}, aborts)
}
