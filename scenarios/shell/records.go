package shell

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/model"
)

var deleteRecordsFlags = []flagSpec{{"bootstrap-server", true}, {"offset-json-file", true}, {"command-config", true}}

// offsetJSON is kafka-delete-records.sh's --offset-json-file:
// {"partitions": [{"topic": "t", "partition": 0, "offset": 3}], "version": 1}.
type offsetJSON struct {
	Partitions []struct {
		Topic     string `json:"topic"`
		Partition *int32 `json:"partition"`
		Offset    *int64 `json:"offset"`
	} `json:"partitions"`
	Version int `json:"version"`
}

// deleteRecords is kafka-delete-records.sh: it deletes the records below
// each partition's offset in the JSON file (Admin.deleteRecords) and
// prints each partition's low watermark or error, as Kafka's tool does.
func (sh *Shell) deleteRecords(b *strings.Builder, args, _ []string) error {
	f, err := parseFlags("kafka-delete-records.sh", deleteRecordsFlags, args)
	if err != nil {
		return err
	}
	path := f.get("offset-json-file", "")
	if path == "" {
		return errors.New("Missing required argument \"[offset-json-file]\"")
	}
	if sh.NoFiles {
		return fmt.Errorf("this session reads no files (cannot read %s)", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc offsetJSON
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("the offset JSON file %s is not valid: %v; write {\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 3}], \"version\": 1}", path, err)
	}
	if doc.Version != 1 {
		return fmt.Errorf("Not supported version field value %d: the offset JSON file's version is 1", doc.Version)
	}
	offsets := map[model.TopicPartition]int64{}
	var dups []string
	for _, p := range doc.Partitions {
		if p.Topic == "" || p.Partition == nil || p.Offset == nil {
			return fmt.Errorf("the offset JSON file %s: every partition needs topic, partition and offset", path)
		}
		tp := model.TopicPartition{Topic: p.Topic, Partition: *p.Partition}
		if _, ok := offsets[tp]; ok {
			dups = append(dups, tp.String())
		}
		offsets[tp] = *p.Offset
	}
	if len(dups) > 0 {
		return fmt.Errorf("Offset json file contains duplicate topic partitions: %s", strings.Join(dups, ","))
	}
	if len(offsets) == 0 {
		return fmt.Errorf("the offset JSON file %s names no partitions", path)
	}
	var lows map[model.TopicPartition]int64
	var opErr, callErr error
	if err := sh.await(func(done func()) {
		if callErr = sh.admin.DeleteRecords(offsets, func(l map[model.TopicPartition]int64, err error) {
			lows, opErr = l, err
			done()
		}); callErr != nil {
			done()
		}
	}); err != nil {
		return err
	}
	if callErr != nil {
		return callErr
	}
	b.WriteString("Executing records delete operation\nRecords delete operation completed:\n")
	for _, tp := range slices.SortedFunc(func(yield func(model.TopicPartition) bool) {
		for tp := range offsets {
			if !yield(tp) {
				return
			}
		}
	}, model.TopicPartition.Compare) {
		if low, ok := lows[tp]; ok {
			fmt.Fprintf(b, "partition: %s\tlow_watermark: %d\n", tp, low)
		} else {
			fmt.Fprintf(b, "partition: %s\terror: %v\n", tp, partitionError(opErr, tp))
		}
	}
	return nil
}

// partitionError is the part of an admin error that names tp, or the
// whole error.
func partitionError(err error, tp model.TopicPartition) string {
	if err == nil {
		return "no answer"
	}
	for _, part := range strings.Split(brokerMessage(err).Error(), "; ") {
		if rest, ok := strings.CutPrefix(part, tp.String()+": "); ok {
			return rest
		}
	}
	return err.Error()
}
