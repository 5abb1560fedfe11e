// The -client kafka-go reader of -compacted (see main.go): kafka-go 0.2.1 (Debian's
// golang-github-segmentio-kafka-go-dev) reads partition 0 from the first offset with its Reader,
// which fetches with Fetch v2, so the broker down-converts the stored batches to magic 1.
// Built only with -tags kafkago.

//go:build kafkago

package main

import (
	"context"
	"time"

	kafka "github.com/segmentio/kafka-go"
)

func init() {
	compactedReaders["kafka-go"] = readCompactedKafkaGo
}

// readCompactedKafkaGo reads partition 0 of `topic` from the first offset until the record at
// offset end-1, printing every record; errors and a 20 s deadline fail the program.
func readCompactedKafkaGo(brokers []string, topic string, end int64) {
	const name = "kafka-go Reader (fetch v2, magic 1)"
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		fail("%s: SetOffset: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for last := int64(-1); last+1 < end; {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			fail("%s on %s/0: %v (last offset %d, want %d)", name, topic, err, last, end-1)
		}
		last = m.Offset
		printRecord(name, m.Offset, m.Key, m.Value)
	}
}
