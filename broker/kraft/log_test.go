package kraft

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/sim"
)

func testDisk(t testing.TB) *sim.Disk {
	s := sim.New(sim.Config{Seed: 1})
	n, err := s.AddNode("n1", func(*sim.Node) any { return nil })
	require.NoError(t, err)
	require.NoError(t, n.Start())
	return n.Disk()
}

func dataBatch(base int64, epoch int32, recs ...string) *Batch {
	b := &Batch{BaseOffset: base, Epoch: epoch}
	for _, r := range recs {
		b.Records = append(b.Records, []byte(r))
	}
	return b.finish()
}

func TestBatchEncodingRoundTrip(t *testing.T) {
	for _, b := range []*Batch{
		dataBatch(0, 1, "a"),
		dataBatch(7, 3, "", "xyz", string(make([]byte, 300))),
		(&Batch{BaseOffset: 9, Epoch: 4, LeaderChange: &LeaderChange{LeaderID: 2, Voters: []int32{1, 2, 3}, GrantingVoters: []int32{2, 3}}}).finish(),
		(&Batch{BaseOffset: 10, Epoch: 5, LeaderChange: &LeaderChange{LeaderID: 1, Voters: []int32{1}, GrantingVoters: []int32{}}}).finish(),
	} {
		p := appendBatch(nil, b)
		assert.Equal(t, b.Size(), len(p), "Size must be the encoded size")
		got, n, err := decodeBatch(p)
		require.NoError(t, err)
		assert.Equal(t, len(p), n)
		assert.Equal(t, b.Digest(), got.Digest())
		assert.Equal(t, b.BaseOffset, got.BaseOffset)
		assert.Equal(t, b.Epoch, got.Epoch)
		assert.Equal(t, b.Len(), got.Len())
		if b.LeaderChange != nil {
			assert.Equal(t, b.LeaderChange.LeaderID, got.LeaderChange.LeaderID)
			assert.Equal(t, b.LeaderChange.Voters, got.LeaderChange.Voters)
			assert.Len(t, got.LeaderChange.GrantingVoters, len(b.LeaderChange.GrantingVoters))
		}
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	p := appendBatch(nil, dataBatch(0, 1, "hello", "world"))
	_, _, err := decodeBatch(p[:len(p)-1])
	assert.ErrorContains(t, err, "overruns")
	bad := append([]byte(nil), p...)
	bad[len(bad)-1] ^= 1
	_, _, err = decodeBatch(bad)
	assert.ErrorContains(t, err, "CRC")
	bad = append([]byte(nil), p...)
	bad[16] = 1
	_, _, err = decodeBatch(bad)
	assert.ErrorContains(t, err, "magic")
	_, _, err = decodeBatch(p[:10])
	assert.ErrorContains(t, err, "header")
}

// FuzzDecodeBatch: no input makes the decoder panic, and what it accepts
// re-encodes to the same bytes.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(appendBatch(nil, dataBatch(0, 1, "a", "b")))
	f.Add(appendBatch(nil, (&Batch{BaseOffset: 3, Epoch: 2, LeaderChange: &LeaderChange{LeaderID: 1, Voters: []int32{1, 2}}}).finish()))
	f.Fuzz(func(t *testing.T, p []byte) {
		b, n, err := decodeBatch(p)
		if err != nil {
			return
		}
		if b.LeaderChange == nil {
			assert.Equal(t, p[:n], appendBatch(nil, b))
		}
	})
}

func TestLogRecoveryTruncatesTornTail(t *testing.T) {
	d := testDisk(t)
	l, torn, err := openLog(d, "m")
	require.NoError(t, err)
	require.Zero(t, torn)
	require.NoError(t, l.append(dataBatch(0, 1, "a", "b")))
	require.NoError(t, l.append(dataBatch(2, 1, "c")))
	require.NoError(t, l.flush())
	require.NoError(t, l.append(dataBatch(3, 2, "d", "e", "f")))
	// Tear the last batch: keep half of it.
	f, err := d.Open("m/" + segmentName)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(f.Size()-10))
	l2, torn, err := openLog(d, "m")
	require.NoError(t, err)
	assert.Positive(t, torn)
	assert.Equal(t, int64(3), l2.EndOffset())
	assert.Equal(t, int32(1), l2.LastEpoch())
	assert.Len(t, l2.Batches(), 2)
	// The truncation is durable and the log appends where it ends.
	require.NoError(t, l2.append(dataBatch(3, 3, "g")))
	l3, torn, err := openLog(d, "m")
	require.NoError(t, err)
	assert.Zero(t, torn)
	assert.Equal(t, int64(4), l3.EndOffset())
}

func TestLogRecoveryStopsAtCorruption(t *testing.T) {
	d := testDisk(t)
	l, _, err := openLog(d, "m")
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, l.append(dataBatch(int64(i), 1, fmt.Sprint(i))))
	}
	pos := l.pos[2]
	require.NoError(t, d.Corrupt("m/"+segmentName, pos+batchHeaderSize+2, 1))
	l2, torn, err := openLog(d, "m")
	require.NoError(t, err)
	assert.Positive(t, torn)
	assert.Equal(t, int64(2), l2.EndOffset(), "everything from the corrupt batch on is dropped")
}

func TestLogAppendRejectsGapsAndOldEpochs(t *testing.T) {
	l, _, err := openLog(testDisk(t), "m")
	require.NoError(t, err)
	require.NoError(t, l.append(dataBatch(0, 2, "a")))
	assert.ErrorContains(t, l.append(dataBatch(5, 2, "x")), "offset 5 to a log ending at 1")
	assert.ErrorContains(t, l.append(dataBatch(1, 1, "x")), "epoch 1 after epoch 2")
}

// A log of epochs 1:[0,3) 3:[3,5) 4:[5,6).
func epochLog(t *testing.T) *Log {
	l, _, err := openLog(testDisk(t), "m")
	require.NoError(t, err)
	require.NoError(t, l.append(dataBatch(0, 1, "a", "b")))
	require.NoError(t, l.append(dataBatch(2, 1, "c")))
	require.NoError(t, l.append(dataBatch(3, 3, "d", "e")))
	require.NoError(t, l.append(dataBatch(5, 4, "f")))
	return l
}

func TestEndOffsetForEpoch(t *testing.T) {
	l := epochLog(t)
	assert.Equal(t, [][2]int64{{1, 0}, {3, 3}, {4, 5}}, l.Epochs())
	for _, c := range []struct {
		epoch    int32
		wantE    int32
		wantOffs int64
	}{{0, 0, 0}, {1, 1, 3}, {2, 1, 3}, {3, 3, 5}, {4, 4, 6}, {9, 4, 6}} {
		e, off := l.endOffsetForEpoch(c.epoch)
		assert.Equal(t, c.wantE, e, "epoch %d", c.epoch)
		assert.Equal(t, c.wantOffs, off, "epoch %d", c.epoch)
	}
}

func TestValidateAndDivergence(t *testing.T) {
	leader := epochLog(t)
	// A follower caught up in epoch 3 is valid.
	ok, _ := leader.validate(5, 3)
	assert.True(t, ok)
	ok, _ = leader.validate(0, 0)
	assert.True(t, ok, "an empty follower is valid")
	// A follower with epoch-1 entries up to offset 4 diverges at 3.
	ok, d := leader.validate(4, 1)
	assert.False(t, ok)
	assert.Equal(t, EpochEndOffset{Epoch: 1, EndOffset: 3}, d)
	// A follower whose last epoch (2) the leader never had: the leader
	// answers with its largest epoch below it.
	ok, d = leader.validate(4, 2)
	assert.False(t, ok)
	assert.Equal(t, EpochEndOffset{Epoch: 1, EndOffset: 3}, d)

	// The follower: epochs 1:[0,3) 2:[3,7). Told epoch 1 ends at 3, it
	// truncates to 3; told of an epoch it lacks, to its own end of the
	// largest epoch below.
	f, _, err := openLog(testDisk(t), "f")
	require.NoError(t, err)
	require.NoError(t, f.append(dataBatch(0, 1, "a", "b", "c")))
	require.NoError(t, f.append(dataBatch(3, 2, "x", "y", "z", "w")))
	assert.Equal(t, int64(3), f.divergenceOffset(EpochEndOffset{Epoch: 1, EndOffset: 3}))
	assert.Equal(t, int64(2), f.divergenceOffset(EpochEndOffset{Epoch: 1, EndOffset: 2}))
	assert.Equal(t, int64(7), f.divergenceOffset(EpochEndOffset{Epoch: 3, EndOffset: 5}), "walks back to its own end of epoch 2")
	removed, err := f.truncateTo(3)
	require.NoError(t, err)
	assert.Equal(t, int64(4), removed)
	assert.Equal(t, int64(3), f.EndOffset())
	assert.Equal(t, int32(1), f.LastEpoch())
	assert.Equal(t, [][2]int64{{1, 0}}, f.Epochs())
}

func TestReadCapsBytesAndCopies(t *testing.T) {
	l := epochLog(t)
	all := l.read(0, 1<<20)
	assert.Len(t, all, 4)
	one := l.read(0, 1)
	assert.Len(t, one, 1, "at least one batch, even past the cap")
	assert.Nil(t, l.read(6, 1<<20))
	_, err := l.truncateTo(0)
	require.NoError(t, err)
	assert.NotNil(t, all[3], "a read survives a truncation of the log")
}

// TestLogProperty: random appends, flushes, truncations, crashes and power
// losses; the recovered log is always a prefix-consistent log whose
// durable part survived.
func TestLogProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := sim.New(sim.Config{Seed: rapid.Uint64().Draw(t, "seed")})
		n, _ := s.AddNode("n", func(*sim.Node) any { return nil })
		_ = n.Start()
		l, _, err := openLog(n.Disk(), "m")
		if err != nil {
			t.Fatal(err)
		}
		var model []*Batch // what the log holds
		durable := 0       // how many of model's batches are flushed
		epoch := int32(1)
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for range steps {
			switch rapid.IntRange(0, 5).Draw(t, "op") {
			case 0, 1:
				epoch += int32(rapid.IntRange(0, 1).Draw(t, "bump"))
				recs := rapid.SliceOfN(rapid.StringN(0, 20, 40), 1, 4).Draw(t, "recs")
				b := dataBatch(l.EndOffset(), epoch, recs...)
				if err := l.append(b); err != nil {
					t.Fatal(err)
				}
				model = append(model, b)
			case 2:
				if err := l.flush(); err != nil {
					t.Fatal(err)
				}
				durable = len(model)
			case 3:
				if len(model) > 0 {
					k := rapid.IntRange(0, len(model)-1).Draw(t, "cut")
					if _, err := l.truncateTo(model[k].BaseOffset); err != nil {
						t.Fatal(err)
					}
					model = model[:k]
					durable = min(durable, k)
				}
			case 4: // crash: the page cache survives
				if l, _, err = openLog(n.Disk(), "m"); err != nil {
					t.Fatal(err)
				}
			case 5: // power loss, maybe torn
				n.PowerLoss(rapid.Bool().Draw(t, "tear"))
				_ = n.Restart()
				if l, _, err = openLog(n.Disk(), "m"); err != nil {
					t.Fatal(err)
				}
				got := l.Batches()
				if len(got) < durable {
					t.Fatalf("power loss lost flushed batches: %d left of %d flushed", len(got), durable)
				}
				for i, b := range got {
					if i < len(model) && b.Digest() != model[i].Digest() && i < durable {
						t.Fatalf("batch %d changed across power loss", i)
					}
				}
				// What survived beyond the flushed prefix is a prefix of
				// what was written (torn writes keep prefixes) or of an
				// older truncated suffix; either way the log is whole.
				model = append([]*Batch(nil), got...)
				durable = len(model)
				if len(model) > 0 {
					epoch = max(epoch, model[len(model)-1].Epoch)
				}
			}
			got := l.Batches()
			if len(got) != len(model) {
				t.Fatalf("log holds %d batches, model %d", len(got), len(model))
			}
			for i := range got {
				if got[i].Digest() != model[i].Digest() {
					t.Fatalf("batch %d differs from the model", i)
				}
			}
		}
	})
}
