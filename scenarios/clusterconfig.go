package scenarios

import "github.com/kafkasim/kafkasim/broker/cluster"

// ClusterConfig turns a scenario's cluster section into the harness's
// cluster configuration, as Run does (through Compile): for tools that
// build a cluster of their own from a scenario (the shell).
func ClusterConfig(s Scenario) (cluster.Config, error) {
	p, err := Compile(s)
	if err != nil {
		return cluster.Config{}, err
	}
	return p.Cluster, nil
}
