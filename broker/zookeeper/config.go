package zookeeper

import (
	"errors"
	"fmt"
	"time"
)

// Config holds a server's settings, named after zoo.cfg and ZooKeeper's
// system properties. DefaultConfig gives ZooKeeper 3.8's defaults.
type Config struct {
	// TickTime is tickTime: the unit of ZooKeeper's timeouts. The leader
	// pings its followers every half tick, sessions expire on tick
	// boundaries, and initLimit, syncLimit and the session timeout bounds
	// count ticks. Default 2 s.
	TickTime time.Duration
	// InitLimit is initLimit: how many ticks a follower has to connect to
	// a new leader and synchronise with it, and how long each phase of a
	// new leader's establishment may wait for a quorum. Default 10.
	InitLimit int
	// SyncLimit is syncLimit: how many ticks a follower may go without
	// hearing from its leader, and the leader without an answer from a
	// follower, before the connection is given up. Default 5.
	SyncLimit int
	// ForceSync is zookeeper.forceSync: the transaction log is fsynced
	// before a proposal is acknowledged. Off ("no"), an acknowledged
	// proposal may sit in the page cache and a power loss loses it.
	// Default on ("yes").
	ForceSync bool
	// SnapCount is zookeeper.snapCount: after about this many logged
	// transactions (a random number between SnapCount/2 and SnapCount)
	// the server rolls its transaction log and takes a snapshot. Default
	// 100000.
	SnapCount int
	// MinSessionTimeout and MaxSessionTimeout bound the session timeout a
	// client may negotiate; zero means ZooKeeper's defaults, 2 and 20
	// ticks.
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// CommitLogCount is zookeeper.commitLogCount: how many recent
	// transactions a server keeps in memory to synchronise followers with
	// a DIFF. Default 500.
	CommitLogCount int
	// SnapshotSizeFactor is zookeeper.snapshotSizeFactor: a follower too
	// far behind for the in-memory commit log is synchronised from the
	// transaction log on disk if what it misses is smaller than this
	// fraction of the last snapshot; otherwise it gets a SNAP. Negative
	// turns synchronisation from the log off. Default 0.33.
	SnapshotSizeFactor float64
	// FinalizeWait is how long fast leader election waits for a better
	// vote once a quorum agrees (FastLeaderElection's finalizeWait, which
	// is also the first notification timeout). Default 200 ms.
	FinalizeWait time.Duration
	// MaxNotificationInterval is zookeeper.fastleader.maxNotificationInterval:
	// the cap of the doubling wait between rounds of notifications of a
	// server that hears nothing. Default 60 s.
	MaxNotificationInterval time.Duration
	// LeaderConnectDelay is zookeeper.leaderConnectDelayDuringRetryMs: the
	// wait between a follower's attempts to connect to its leader (five
	// attempts within initLimit ticks). Default 100 ms.
	LeaderConnectDelay time.Duration
}

// DefaultConfig returns ZooKeeper 3.8's defaults.
func DefaultConfig() Config {
	return Config{
		TickTime:                2000 * time.Millisecond,
		InitLimit:               10,
		SyncLimit:               5,
		ForceSync:               true,
		SnapCount:               100_000,
		CommitLogCount:          500,
		SnapshotSizeFactor:      0.33,
		FinalizeWait:            200 * time.Millisecond,
		MaxNotificationInterval: 60 * time.Second,
		LeaderConnectDelay:      100 * time.Millisecond,
	}
}

// minSessionTimeout returns the effective lower bound of session timeouts.
func (c Config) minSessionTimeout() time.Duration {
	if c.MinSessionTimeout > 0 {
		return c.MinSessionTimeout
	}
	return 2 * c.TickTime
}

// maxSessionTimeout returns the effective upper bound of session timeouts.
func (c Config) maxSessionTimeout() time.Duration {
	if c.MaxSessionTimeout > 0 {
		return c.MaxSessionTimeout
	}
	return 20 * c.TickTime
}

// negotiate clamps a requested session timeout between the bounds, as a
// server does when a client connects.
func (c Config) negotiate(requested time.Duration) time.Duration {
	return min(max(requested, c.minSessionTimeout()), c.maxSessionTimeout())
}

// Validate reports every setting out of range, naming ZooKeeper's setting
// and what is accepted.
func (c Config) Validate() error {
	var errs []error
	if c.TickTime <= 0 {
		errs = append(errs, fmt.Errorf("tickTime %v must be positive", c.TickTime))
	}
	if c.InitLimit < 1 {
		errs = append(errs, fmt.Errorf("initLimit %d must be at least 1", c.InitLimit))
	}
	if c.SyncLimit < 1 {
		errs = append(errs, fmt.Errorf("syncLimit %d must be at least 1", c.SyncLimit))
	}
	if c.SnapCount < 2 {
		errs = append(errs, fmt.Errorf("zookeeper.snapCount %d must be at least 2", c.SnapCount))
	}
	if c.CommitLogCount < 1 {
		errs = append(errs, fmt.Errorf("zookeeper.commitLogCount %d must be at least 1", c.CommitLogCount))
	}
	if c.MinSessionTimeout < 0 || c.MaxSessionTimeout < 0 {
		errs = append(errs, fmt.Errorf("minSessionTimeout %v and maxSessionTimeout %v must not be negative (0 means 2 and 20 ticks)", c.MinSessionTimeout, c.MaxSessionTimeout))
	} else if c.TickTime > 0 && c.minSessionTimeout() > c.maxSessionTimeout() {
		errs = append(errs, fmt.Errorf("minSessionTimeout %v is above maxSessionTimeout %v", c.minSessionTimeout(), c.maxSessionTimeout()))
	}
	if c.FinalizeWait <= 0 {
		errs = append(errs, fmt.Errorf("finalizeWait %v must be positive", c.FinalizeWait))
	}
	if c.MaxNotificationInterval < c.FinalizeWait {
		errs = append(errs, fmt.Errorf("zookeeper.fastleader.maxNotificationInterval %v must be at least finalizeWait %v", c.MaxNotificationInterval, c.FinalizeWait))
	}
	if c.LeaderConnectDelay < 0 {
		errs = append(errs, errors.New("zookeeper.leaderConnectDelayDuringRetryMs must not be negative"))
	}
	return errors.Join(errs...)
}
