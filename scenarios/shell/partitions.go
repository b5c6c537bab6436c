package shell

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/protocol"
)

// collisionWarning is what kafka-topics --create prints for a topic name
// with a '.' or '_': the two are the same character in metric names.
const collisionWarning = "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both."

// alterPartitions is kafka-topics --alter --topic T --partitions N: it
// raises the topic's partition count with CreatePartitions and, as
// Kafka's tool, prints nothing when it succeeds. Topic configs are
// kafka-configs' to alter.
func (sh *Shell) alterPartitions(b *strings.Builder, f *flags, topic string, cmdErr func(error) error) error {
	if f.has("config") {
		return errors.New("Option \"[config]\" can't be used with option \"[alter]\": to alter topic configs, use kafka-configs.sh --alter --entity-type topics --entity-name " + topic + " --add-config")
	}
	v := f.get("partitions", "")
	if v == "" {
		return errors.New("Missing required argument \"[partitions]\"")
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return fmt.Errorf("Cannot parse argument '%s' of option partitions: give a whole number", v)
	}
	ts, err := sh.describeTopics([]string{topic})
	if errors.Is(err, protocol.UnknownTopicOrPartition) || (err == nil && len(ts) == 0) {
		if f.has("if-exists") {
			return nil
		}
		return cmdErr(fmt.Errorf("Topic '%s' does not exist as expected", topic))
	}
	if err != nil {
		return cmdErr(err)
	}
	topicErr, err := sh.topicCall(func(answer func([]client.TopicResult)) error {
		return sh.admin.CreatePartitions([]client.NewPartitions{{Topic: topic, TotalCount: int32(n)}}, answer)
	})
	if err != nil {
		return cmdErr(err)
	}
	if topicErr != nil {
		return cmdErr(brokerMessage(topicErr))
	}
	return nil
}

// brokerMessage is what Kafka's tools print of a broker's refusal: the
// exception's message, which is the broker's message when it gave one.
func brokerMessage(err error) error {
	var ae *client.AdminError
	if errors.As(err, &ae) && ae.Message != "" {
		return errors.New(ae.Message)
	}
	return err
}
