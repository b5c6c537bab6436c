package kraft

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/kafkasim/kafkasim/sim"
)

// stateFile is the name of the quorum-state file in the log directory, as
// Kafka names it.
const stateFile = "quorum-state"

// election is the part of a replica's quorum state that must survive a
// restart: the epoch, the leader it knows for it, and the vote it cast in
// it. Raft's safety rests on it: a voter that forgot its vote could vote
// twice in one epoch.
type election struct {
	Epoch  int32
	Leader int32
	Voted  int32
}

// stateData is the file's JSON form, after Kafka's QuorumStateData.
type stateData struct {
	ClusterID     string      `json:"clusterId"`
	LeaderID      int32       `json:"leaderId"`
	LeaderEpoch   int32       `json:"leaderEpoch"`
	VotedID       int32       `json:"votedId"`
	AppliedOffset int64       `json:"appliedOffset"`
	CurrentVoters []voterData `json:"currentVoters"`
	DataVersion   int         `json:"data_version"`
}

type voterData struct {
	VoterID int32 `json:"voterId"`
}

// errBadState marks a quorum-state file that cannot be parsed.
var errBadState = errors.New("not valid quorum state")

// readState reads the quorum-state file. A missing file gives found=false;
// a file that cannot be parsed gives an error that says so (Kafka then
// clears the file and starts from epoch 0).
func readState(d *sim.Disk, dir string) (e election, voters []int32, found bool, err error) {
	f, err := d.Open(dir + "/" + stateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return election{Leader: NoLeader, Voted: NoLeader}, nil, false, nil
	}
	if err != nil {
		return e, nil, false, err
	}
	p, err := f.Bytes()
	if err != nil {
		return e, nil, false, err
	}
	var s stateData
	if err := json.Unmarshal(p, &s); err != nil {
		return e, nil, false, fmt.Errorf("%s/%s: %w: %v", dir, stateFile, errBadState, err)
	}
	for _, v := range s.CurrentVoters {
		voters = append(voters, v.VoterID)
	}
	slices.Sort(voters)
	return election{Epoch: s.LeaderEpoch, Leader: s.LeaderID, Voted: s.VotedID}, voters, true, nil
}

// writeState replaces the quorum-state file durably: it writes a temporary
// file, fsyncs it and renames it over the old one, as Kafka's
// FileQuorumStateStore does, so a crash leaves the old or the new state,
// never a torn one.
func writeState(d *sim.Disk, dir string, e election, voters []int32) error {
	s := stateData{LeaderID: e.Leader, LeaderEpoch: e.Epoch, VotedID: e.Voted, CurrentVoters: make([]voterData, len(voters))}
	for i, v := range voters {
		s.CurrentVoters[i].VoterID = v
	}
	p, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := dir + "/" + stateFile + ".tmp"
	f, err := d.Create(tmp)
	if err != nil {
		return err
	}
	if err := f.WriteAt(p, 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return d.Rename(tmp, dir+"/"+stateFile)
}
