package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/internal/browsertest"
)

// TestDemoReportTellsTheStoryInBrowser opens the demo's report in headless
// Chromium: the story at the top names the lost records and the unclean
// election that lost them, without a tooltip, and clicking the incident
// moves the time cursor to the election, not to the end of the run.
func TestDemoReportTellsTheStoryInBrowser(t *testing.T) {
	ctx, cancel := browsertest.Browser(t)
	defer cancel()
	path := filepath.Join(t.TempDir(), "demo.html")
	code, out, _ := kafkasim("run", "unclean-election-loss", "--expect", "--out", path)
	require.Equal(t, 0, code, out)
	errs, err := browsertest.Load(ctx, path)
	require.NoError(t, err)
	var story, headline, cursorX, election string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Text("#story + ol", &story),
		chromedp.Text("#incident-0 .headline", &headline),
		chromedp.Evaluate(`document.getElementById("incident-0").click(); document.querySelector(".cursor").getAttribute("x1") || document.querySelector(".cursor").style.left`, &cursorX),
		chromedp.Evaluate(`String(document.getElementById("incident-0").dataset.at)`, &election),
	))
	require.Empty(t, errs, "the page logged errors")
	assert.Contains(t, headline, "orders-0 lost 997 acknowledged records")
	assert.Contains(t, headline, "offsets 152..1148")
	assert.Contains(t, headline, "broker 3, not in the ISR")
	assert.Contains(t, headline, "elected leader of orders-0 uncleanly")
	assert.Contains(t, headline, "allowed by unclean.leader.election.enable=true")
	assert.Contains(t, story, "kafkasim run unclean-election-loss --seed 1 --until-step", "the replay command is visible text")
	assert.Contains(t, story, "clean election would have kept them", "the story says what the other choice costs")
	assert.True(t, strings.HasPrefix(election, "382"), "the incident's moment is the election at 38.2 s, not the end of the run: %s ns", election)
	assert.NotEmpty(t, cursorX)
}

// TestMatrixAndSweepHeadlinesInBrowser: a matrix in which a configuration
// lost data has a red headline that says so; a sweep of
// all-brokers-down-clean draws its unavailability histogram with real,
// non-zero values.
func TestMatrixAndSweepHeadlinesInBrowser(t *testing.T) {
	ctx, cancel := browsertest.Browser(t)
	defer cancel()
	dir := t.TempDir()
	matrix := filepath.Join(dir, "matrix.html")
	code, out, _ := kafkasim("matrix", "unclean-election-loss", "--only",
		"acks=all,min.insync.replicas=1,eligible.leader.replicas=off,log.flush.interval.messages=never,enable.idempotence=true", "--out", matrix)
	require.Equal(t, 1, code, out)
	errs, err := browsertest.Load(ctx, matrix)
	require.NoError(t, err)
	var headline, colour string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Text("#verdict", &headline),
		chromedp.Evaluate(`getComputedStyle(document.getElementById("verdict")).backgroundColor`, &colour),
	))
	require.Empty(t, errs)
	assert.Contains(t, headline, "1 of 2 configurations lost records")
	assert.Equal(t, "rgb(207, 34, 46)", colour, "the headline is red")

	sweep := filepath.Join(dir, "sweep.html")
	code, out, _ = kafkasim("sweep", "all-brokers-down-clean", "--seeds", "3", "--quiet", "--summary", filepath.Join(dir, "s.jsonl"), "--out", sweep)
	require.Equal(t, 0, code, out)
	errs, err = browsertest.Load(ctx, sweep)
	require.NoError(t, err)
	var label string
	var bars int
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Evaluate(`(() => { const h = [...document.querySelectorAll("h3")].find(e => e.textContent.startsWith("time without a leader"));
			const svg = h.nextElementSibling.querySelector("svg");
			return [...svg.querySelectorAll("text")].map(t => t.textContent).join(" | "); })()`, &label),
		chromedp.Evaluate(`(() => { const h = [...document.querySelectorAll("h3")].find(e => e.textContent.startsWith("time without a leader"));
			return [...h.nextElementSibling.querySelectorAll("rect")].filter(r => Number(r.getAttribute("height")) > 0).length; })()`, &bars),
	))
	require.Empty(t, errs)
	assert.Positive(t, bars, "the histogram has bars")
	assert.NotContains(t, label, "| 0 s", "the unavailability is not zero everywhere: %s", label)
	assert.Regexp(t, `\| [1-9][0-9.]* s`, label, "the axis shows seconds of unavailability: %s", label)
}
