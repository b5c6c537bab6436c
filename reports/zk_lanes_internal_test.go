package reports

import (
	"strings"
	"testing"
	"time"
)

// A ZooKeeper-mode run's events get lanes of their own under the faults,
// and are not drawn as faults on the partitions' timelines.
func TestZooKeeperLanes(t *testing.T) {
	faults := []Event{{At: time.Second, Kind: "crash", Text: "crash b1"}, {At: 2 * time.Second, Kind: "zk.leader", Text: "ZooKeeper leader z2"},
		{At: 3 * time.Second, Kind: "zk.controller", Text: "/controller: broker b3, controller epoch 2"}}
	svg := string(faultSVG(faults, nil, 10*time.Second))
	for _, want := range []string{">ZK leader<", ">controller<", ">sessions<", "ZooKeeper leader z2", "controller epoch 2", "crash b1"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the fault timeline lacks %q: %s", want, svg)
		}
	}
	if plain := string(faultSVG(faults[:1], nil, 10*time.Second)); strings.Contains(plain, "ZK leader") {
		t.Errorf("a KRaft run's fault timeline has ZooKeeper lanes: %s", plain)
	}
	part := string(timelineSVG(PartitionTimeline{Name: "t-0", Replicas: []int32{1}}, faults, 10*time.Second))
	if strings.Contains(part, "ZooKeeper leader z2") || !strings.Contains(part, "crash b1") {
		t.Errorf("a partition's timeline draws ZooKeeper events as faults, or misses the fault: %s", part)
	}
}
