package sim_test

import (
	"errors"
	"io"
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/sim"
)

func newNode(t *testing.T, cfg sim.Config) (*sim.Sim, *sim.Node) {
	t.Helper()
	s := sim.New(cfg)
	n, err := s.AddNode("b1", func(n *sim.Node) any { return nil })
	require.NoError(t, err)
	require.NoError(t, n.Start())
	return s, n
}

func content(t *testing.T, d *sim.Disk, name string) string {
	t.Helper()
	f, err := d.Open(name)
	require.NoError(t, err)
	b, err := f.Bytes()
	require.NoError(t, err)
	return string(b)
}

func TestCrashKeepsThePageCache(t *testing.T) {
	_, n := newNode(t, sim.Config{})
	f, err := n.Disk().Create("log")
	require.NoError(t, err)
	require.NoError(t, f.Append([]byte("synced|")))
	require.NoError(t, f.Sync())
	require.NoError(t, f.Append([]byte("cached")))
	assert.Equal(t, 6, n.Disk().Unsynced())
	require.NoError(t, n.Crash())
	require.NoError(t, n.Restart())
	assert.Equal(t, "synced|cached", content(t, n.Disk(), "log"))
}

func TestPowerLossDropsUnsyncedWrites(t *testing.T) {
	_, n := newNode(t, sim.Config{})
	d := n.Disk()
	f, _ := d.Create("log")
	require.NoError(t, f.Append([]byte("aaaa")))
	require.NoError(t, f.Sync())
	require.NoError(t, f.Append([]byte("bbbb")))
	require.NoError(t, f.WriteAt([]byte("XX"), 1)) // overwrite inside the synced part
	g, _ := d.Create("never-synced")
	require.NoError(t, g.Append([]byte("gone")))
	h, _ := d.Create("truncated")
	require.NoError(t, h.Append([]byte("0123456789")))
	require.NoError(t, h.Sync())
	require.NoError(t, h.Truncate(3))
	n.PowerLoss(false)
	assert.Equal(t, sim.Down, n.State())
	require.NoError(t, n.Restart())
	assert.Equal(t, "aaaa", content(t, d, "log"))
	assert.Equal(t, "", content(t, d, "never-synced"), "creation is durable, content is not")
	assert.Equal(t, "0123456789", content(t, d, "truncated"), "an unsynced truncate is undone")
	assert.Equal(t, 0, d.Unsynced())
}

// TestSyncCommitsEveryTruncation: shrinking a file is journaled metadata,
// committed by the next fsync of any file on the disk (ext4's ordered
// mode); the bytes written after the cut stay unsynced.
func TestSyncCommitsEveryTruncation(t *testing.T) {
	_, n := newNode(t, sim.Config{})
	d := n.Disk()
	log, _ := d.Create("log")
	require.NoError(t, log.Append([]byte("0123456789")))
	require.NoError(t, log.Sync())
	require.NoError(t, log.Truncate(4))
	require.NoError(t, log.Append([]byte("abc")))
	cp, _ := d.Create("checkpoint")
	require.NoError(t, cp.Append([]byte("epoch 1 from 4")))
	require.NoError(t, cp.Sync())
	n.PowerLoss(false)
	require.NoError(t, n.Restart())
	assert.Equal(t, "0123", content(t, d, "log"), "the cut is durable, what came after it is not")
	assert.Equal(t, "epoch 1 from 4", content(t, d, "checkpoint"))
}

func TestTornWriteKeepsAPrefixOfUnsyncedBytes(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s := sim.New(sim.Config{Seed: rapid.Uint64().Draw(rt, "seed")})
		n, _ := s.AddNode("b1", func(n *sim.Node) any { return nil })
		_ = n.Start()
		f, _ := n.Disk().Create("log")
		synced := []byte(rapid.StringN(0, 20, -1).Draw(rt, "synced"))
		tail := []byte(rapid.StringN(0, 50, -1).Draw(rt, "tail"))
		_ = f.Append(synced)
		_ = f.Sync()
		_ = f.Append(tail)
		n.PowerLoss(true)
		b, _ := f.Bytes()
		full := append(append([]byte{}, synced...), tail...)
		if len(b) < len(synced) || len(b) > len(full) || string(b) != string(full[:len(b)]) {
			rt.Fatalf("after a torn write got %q; want a prefix of %q at least %q long", b, full, synced)
		}
	})
}

func TestTearIsSeeded(t *testing.T) {
	sizes := map[int]bool{}
	for seed := range uint64(20) {
		s := sim.New(sim.Config{Seed: seed})
		n, _ := s.AddNode("b1", func(n *sim.Node) any { return nil })
		require.NoError(t, n.Start())
		f, _ := n.Disk().Create("log")
		require.NoError(t, f.Append(make([]byte, 1000)))
		n.PowerLoss(true)
		sizes[f.Size()] = true
		// Same seed, same tear.
		s2 := sim.New(sim.Config{Seed: seed})
		n2, _ := s2.AddNode("b1", func(n *sim.Node) any { return nil })
		require.NoError(t, n2.Start())
		f2, _ := n2.Disk().Create("log")
		require.NoError(t, f2.Append(make([]byte, 1000)))
		n2.PowerLoss(true)
		assert.Equal(t, f.Size(), f2.Size())
	}
	assert.Greater(t, len(sizes), 10, "different seeds tear at different points")
}

func TestWritebackMakesOldDirtyDataDurable(t *testing.T) {
	s, n := newNode(t, sim.Config{Writeback: 30 * time.Second})
	f, _ := n.Disk().Create("log")
	require.NoError(t, f.Append([]byte("old")))
	require.NoError(t, s.RunFor(31*time.Second))
	require.NoError(t, f.Append([]byte("new")))
	require.NoError(t, s.RunFor(time.Second))
	n.PowerLoss(false)
	assert.Equal(t, "old", content(t, n.Disk(), "log"))
}

func TestDiskLossGivesAnEmptyDisk(t *testing.T) {
	_, n := newNode(t, sim.Config{})
	old := n.Disk()
	f, _ := old.Create("log")
	require.NoError(t, f.Append([]byte("x")))
	require.NoError(t, f.Sync())
	n.LoseDisk()
	assert.Equal(t, sim.Down, n.State())
	assert.NotSame(t, old, n.Disk())
	assert.Empty(t, n.Disk().List(""))
	assert.ErrorIs(t, f.Append([]byte("y")), sim.ErrDiskGone, "the old disk is gone")
	_, err := n.Disk().Open("log")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestFileOperations(t *testing.T) {
	_, n := newNode(t, sim.Config{})
	d := n.Disk()
	f, err := d.Create("a")
	require.NoError(t, err)
	require.NoError(t, f.WriteAt([]byte("xy"), 4))
	assert.Equal(t, "\x00\x00\x00\x00xy", content(t, d, "a"))
	buf := make([]byte, 4)
	k, err := f.ReadAt(buf, 3)
	assert.Equal(t, 3, k)
	assert.ErrorIs(t, err, io.EOF)
	_, err = f.ReadAt(buf, 10)
	assert.ErrorIs(t, err, io.EOF)
	require.NoError(t, f.Truncate(1))
	require.NoError(t, f.Truncate(3))
	assert.Equal(t, "\x00\x00\x00", content(t, d, "a"), "growing fills with zeros")
	assert.Error(t, f.Truncate(-1))
	assert.Error(t, f.WriteAt([]byte("z"), -1))

	require.NoError(t, f.Sync())
	_, _ = d.Create("b")
	require.NoError(t, d.Rename("a", "b"))
	assert.Equal(t, []string{"b"}, d.List(""))
	assert.True(t, d.Exists("b"))
	assert.ErrorIs(t, d.Rename("a", "c"), fs.ErrNotExist)
	require.NoError(t, d.Remove("b"))
	assert.ErrorIs(t, d.Remove("b"), fs.ErrNotExist)
	assert.ErrorIs(t, f.Append([]byte("z")), fs.ErrClosed, "a removed file cannot be written")

	g, _ := d.Create("c")
	require.NoError(t, g.Append([]byte("abcd")))
	require.NoError(t, d.Corrupt("c", 1, 2))
	assert.Equal(t, "a\x9d\x9cd", content(t, d, "c"))
	assert.ErrorContains(t, d.Corrupt("c", 3, 5), "outside")
	assert.ErrorIs(t, d.Corrupt("zz", 0, 1), fs.ErrNotExist)

	storage := errors.New("failed log dir")
	d.SetFault(storage)
	assert.ErrorIs(t, g.Append([]byte("x")), storage)
	_, err = d.Open("c")
	assert.ErrorIs(t, err, storage)
	d.SetFault(nil)
	require.NoError(t, g.Append([]byte("x")))
}

// TestDiskMatchesModel checks random operation sequences against a model of
// two views: what reads see and what survives a power loss.
func TestDiskMatchesModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		_, n := newNode(t, sim.Config{})
		f, _ := n.Disk().Create("f")
		g, _ := n.Disk().Create("g")
		var cached, durable []byte
		cutTo := -1 // the smallest size f was cut to since the last journal commit
		commit := func() {
			if cutTo >= 0 && len(durable) > cutTo {
				durable = durable[:cutTo]
			}
			cutTo = -1
		}
		for range rapid.IntRange(1, 40).Draw(rt, "ops") {
			switch rapid.IntRange(0, 5).Draw(rt, "op") {
			case 0:
				p := []byte(rapid.StringN(1, 8, -1).Draw(rt, "p"))
				_ = f.Append(p)
				cached = append(cached, p...)
			case 1:
				off := rapid.IntRange(0, len(cached)+3).Draw(rt, "off")
				p := []byte(rapid.StringN(1, 8, -1).Draw(rt, "p"))
				_ = f.WriteAt(p, off)
				if end := off + len(p); end > len(cached) {
					cached = append(cached, make([]byte, end-len(cached))...)
				}
				copy(cached[off:], p)
			case 2:
				size := rapid.IntRange(0, len(cached)+3).Draw(rt, "size")
				_ = f.Truncate(size)
				if size < len(cached) {
					cached = cached[:size]
					if cutTo < 0 || size < cutTo {
						cutTo = size
					}
				} else {
					cached = append(cached, make([]byte, size-len(cached))...)
				}
			case 3:
				_ = f.Sync()
				durable = append([]byte{}, cached...)
				cutTo = -1
			case 4:
				n.PowerLoss(false)
				cached = append([]byte{}, durable...)
				cutTo = -1
				_ = n.Restart()
			case 5: // another file's fsync commits the journal
				_ = g.Sync()
				commit()
			}
			b, _ := f.Bytes()
			if string(b) != string(cached) {
				rt.Fatalf("file holds %q, model %q", b, cached)
			}
		}
	})
}
