// Sarama 1.22.1 against ferry (built and run by test_sarama.py in GOPATH mode against Debian's
// golang-github-shopify-sarama-dev). Sarama does not negotiate versions: config.Version fixes
// what it sends. Each producer variant writes one 3-partition topic:
//
//	default (V0_8_2_0)  Produce v0, magic 0 message sets (none, gzip, snappy)
//	V0_10_2_0           Produce v2, magic 1 message sets (none, gzip, snappy, lz4)
//	V1_0_0_0, V2_0_0_0  Produce v3, record batches v2 (none, gzip, snappy, lz4)
//
// and every topic is then read back by partition consumers of each version (Fetch v0 -> magic
// 0, v2/v3 -> magic 1, v4 -> magic 2, so the broker down-converts), checking offsets, keys,
// values, timestamps and headers where the formats carry them.
//
//	sarama_client -brokers 127.0.0.1:PORT
//
// With -compacted TOPIC -end N it only reads partition 0 of an existing (compacted) topic from
// the oldest offset with a partition consumer of each version, until the record at offset N-1,
// and prints one JSON line per record ({"consumer", "offset", "key", "value"}) for
// test_compaction.py to check (offset gaps, latest record per key). -client kafka-go reads it
// with kafka-go's Reader instead (kafkago_reader.go, built only with -tags kafkago, so the
// sarama test does not need kafka-go installed).
//
//	sarama_client -brokers 127.0.0.1:PORT -compacted TOPIC -end N [-client kafka-go]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"time"

	"github.com/Shopify/sarama"
)

const (
	perTopic = 120
	keys     = 9
)

type variant struct {
	name    string
	version *sarama.KafkaVersion // nil: sarama's default
	codec   sarama.CompressionCodec
	acks    sarama.RequiredAcks
	// Producer.Idempotent: InitProducerId v0, then batches with a producer id and sequences.
	idempotent bool
}

type record struct {
	offset     int64
	key, value string
	ts         time.Time
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func ok(format string, args ...interface{}) {
	fmt.Printf("  ok: "+format+"\n", args...)
}

func v(k sarama.KafkaVersion) *sarama.KafkaVersion { return &k }

func versionName(p *sarama.KafkaVersion) string {
	if p == nil {
		return "default"
	}
	return p.String()
}

func newConfig(version *sarama.KafkaVersion) *sarama.Config {
	c := sarama.NewConfig()
	if version != nil {
		c.Version = *version
	}
	c.ClientID = "ferry-compat-sarama"
	c.Net.DialTimeout = 5 * time.Second
	c.Net.ReadTimeout = 15 * time.Second
	c.Net.WriteTimeout = 5 * time.Second
	c.Metadata.Retry.Max = 10
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	return c
}

// magic is the message format a producer of this version writes.
func magic(version *sarama.KafkaVersion) int {
	switch {
	case version == nil || !version.IsAtLeast(sarama.V0_10_0_0):
		return 0
	case !version.IsAtLeast(sarama.V0_11_0_0):
		return 1
	default:
		return 2
	}
}

func createTopic(brokers []string, topic string) {
	admin, err := sarama.NewClusterAdmin(brokers, newConfig(v(sarama.V1_0_0_0)))
	if err != nil {
		fail("cluster admin: %v", err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false); err != nil {
		fail("CreateTopic %s: %v", topic, err)
	}
	ok("CreateTopics v2: %s with 3 partitions", topic)
}

func produce(brokers []string, topic string, vr variant, base time.Time) map[int32][]record {
	cfg := newConfig(vr.version)
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = vr.acks
	cfg.Producer.Compression = vr.codec
	cfg.Producer.Flush.Messages = 40 // several messages per set, so compressed wrappers hold many
	cfg.Producer.Flush.Frequency = 20 * time.Millisecond
	if vr.idempotent {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
	}
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		fail("%s: NewSyncProducer: %v", vr.name, err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, perTopic)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{
			Topic:     topic,
			Key:       sarama.StringEncoder(fmt.Sprintf("key-%d", i%keys)),
			Value:     sarama.StringEncoder(fmt.Sprintf("%s-%05d-%s", topic, i, "payload-payload-payload")),
			Timestamp: base.Add(time.Duration(i) * time.Millisecond),
		}
		if magic(vr.version) >= 2 {
			msgs[i].Headers = []sarama.RecordHeader{{Key: []byte("i"), Value: []byte(fmt.Sprint(i))}}
		}
	}
	if err := p.SendMessages(msgs); err != nil {
		if errs, isErrs := err.(sarama.ProducerErrors); isErrs && len(errs) > 0 {
			fail("%s: %d of %d messages failed, first: %v", vr.name, len(errs), len(msgs), errs[0].Err)
		}
		fail("%s: SendMessages: %v", vr.name, err)
	}
	sent := map[int32][]record{}
	for _, m := range msgs {
		k, _ := m.Key.Encode()
		val, _ := m.Value.Encode()
		sent[m.Partition] = append(sent[m.Partition], record{m.Offset, string(k), string(val), m.Timestamp})
	}
	if len(sent) != 3 {
		fail("%s: records went to %d partitions, want 3", vr.name, len(sent))
	}
	for part, recs := range sent {
		sort.Slice(recs, func(a, b int) bool { return recs[a].offset < recs[b].offset })
		for i, r := range recs {
			if r.offset != int64(i) {
				fail("%s: partition %d: acknowledged offsets are not 0..%d: %d at %d", vr.name, part, len(recs)-1, r.offset, i)
			}
			if i > 0 && r.value < recs[i-1].value {
				fail("%s: partition %d: offsets not in send order at %d", vr.name, part, i)
			}
		}
	}
	ok("%s (magic %d, %s, acks %d, idempotent %v): %d messages acknowledged, offsets contiguous per partition (%d/%d/%d)",
		topic, magic(vr.version), vr.codec, vr.acks, vr.idempotent, perTopic, len(sent[0]), len(sent[1]), len(sent[2]))
	return sent
}

func consume(brokers []string, topic string, version *sarama.KafkaVersion, producerMagic int,
	sent map[int32][]record) {
	consumeFrom(brokers, topic, version, producerMagic, sent, 0, 0)
}

// consumeFrom reads each partition from offset `from` (0: the oldest) with a fetch size of
// `fetchBytes` (0: sarama's default, 1 MiB) and expects exactly sent[p][from:].
func consumeFrom(brokers []string, topic string, version *sarama.KafkaVersion, producerMagic int,
	sent map[int32][]record, from int64, fetchBytes int32) {
	cfg := newConfig(version)
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	if fetchBytes > 0 {
		cfg.Consumer.Fetch.Default = fetchBytes
	}
	c, err := sarama.NewConsumer(brokers, cfg)
	if err != nil {
		fail("consumer %s: %v", versionName(version), err)
	}
	defer c.Close()
	readMagic := magic(version)
	for part := int32(0); part < 3; part++ {
		all := sent[part]
		want := all[from:]
		start := sarama.OffsetOldest
		if from > 0 {
			start = from
		}
		pc, err := c.ConsumePartition(topic, part, start)
		if err != nil {
			fail("consumer %s: ConsumePartition %s/%d: %v", versionName(version), topic, part, err)
		}
		deadline := time.After(20 * time.Second)
		var got []*sarama.ConsumerMessage
		for len(got) < len(want) {
			select {
			case m := <-pc.Messages():
				got = append(got, m)
			case e := <-pc.Errors():
				pc.Close()
				fail("consumer %s on %s/%d: %v", versionName(version), topic, part, e.Err)
			case <-deadline:
				pc.Close()
				fail("consumer %s on %s/%d: %d of %d messages after 20s", versionName(version), topic, part, len(got), len(want))
			}
		}
		hw := pc.HighWaterMarkOffset()
		pc.Close()
		for i, m := range got {
			w := want[i]
			if m.Offset != w.offset || string(m.Key) != w.key || string(m.Value) != w.value {
				fail("consumer %s on %s/%d message %d: got (%d %q %q), want (%d %q %q)", versionName(version),
					topic, part, i, m.Offset, m.Key, m.Value, w.offset, w.key, w.value)
			}
			// Timestamps exist when both the stored record (producer magic >= 1) and the
			// fetched format (magic >= 1) carry them.
			if producerMagic >= 1 && readMagic >= 1 && !m.Timestamp.Equal(w.ts.Truncate(time.Millisecond)) {
				fail("consumer %s on %s/%d offset %d: timestamp %v, want %v", versionName(version), topic,
					part, m.Offset, m.Timestamp, w.ts)
			}
			if producerMagic >= 2 && readMagic >= 2 {
				if len(m.Headers) != 1 || string(m.Headers[0].Key) != "i" {
					fail("consumer %s on %s/%d offset %d: headers %v, want one header i", versionName(version),
						topic, part, m.Offset, m.Headers)
				}
			}
		}
		if hw != int64(len(all)) {
			fail("consumer %s on %s/%d: high water mark %d, want %d", versionName(version), topic, part, hw, len(all))
		}
	}
	extra := ""
	if producerMagic >= 1 && readMagic >= 1 {
		extra = ", timestamps"
	}
	if producerMagic >= 2 && readMagic >= 2 {
		extra += ", headers"
	}
	how := ""
	if from > 0 || fetchBytes > 0 {
		how = fmt.Sprintf(" from offset %d with %d-byte fetches", from, fetchBytes)
	}
	ok("%s read by consumer %s (fetch as magic %d)%s: offsets, keys, values%s equal, in order, per partition",
		topic, versionName(version), readMagic, how, extra)
}

// compactedReaders holds the -client readers other files of this program add (by build tag).
var compactedReaders = map[string]func(brokers []string, topic string, end int64){}

// printRecord writes one record read by `consumer` as a JSON line on stdout.
func printRecord(consumer string, offset int64, key, value []byte) {
	line, err := json.Marshal(map[string]interface{}{"consumer": consumer, "offset": offset,
		"key": string(key), "value": string(value)})
	if err != nil {
		fail("encoding a record: %v", err)
	}
	fmt.Println(string(line))
}

// readCompacted reads partition 0 of `topic` from the oldest offset with a consumer of each
// version until it has the record at offset end-1, printing every record as a JSON line.
// Errors, and a deadline of 20 s per consumer, fail the program.
func readCompacted(brokers []string, topic string, end int64) {
	versions := []*sarama.KafkaVersion{nil, v(sarama.V0_10_2_0), v(sarama.V1_0_0_0), v(sarama.V2_0_0_0)}
	for _, version := range versions {
		cfg := newConfig(version)
		cfg.Consumer.Return.Errors = true
		cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
		c, err := sarama.NewConsumer(brokers, cfg)
		if err != nil {
			fail("consumer %s: %v", versionName(version), err)
		}
		pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
		if err != nil {
			fail("consumer %s: ConsumePartition %s/0: %v", versionName(version), topic, err)
		}
		name := fmt.Sprintf("sarama %s (fetch as magic %d)", versionName(version), magic(version))
		deadline := time.After(20 * time.Second)
		for last := int64(-1); last+1 < end; {
			select {
			case m := <-pc.Messages():
				last = m.Offset
				printRecord(name, m.Offset, m.Key, m.Value)
			case e := <-pc.Errors():
				fail("%s on %s/0: %v", name, topic, e.Err)
			case <-deadline:
				fail("%s on %s/0: no record at offset %d after 20s (last %d)", name, topic, end-1, last)
			}
		}
		pc.Close()
		c.Close()
	}
}

func main() {
	brokersFlag := flag.String("brokers", "", "bootstrap HOST:PORT")
	debug := flag.Bool("debug", false, "log sarama's internals to stderr")
	compacted := flag.String("compacted", "", "only read this topic's partition 0 (see above)")
	end := flag.Int64("end", 0, "with -compacted: read until the record at offset end-1")
	client := flag.String("client", "sarama", "with -compacted: the client that reads (sarama, kafka-go)")
	flag.Parse()
	if *brokersFlag == "" {
		fail("-brokers is required")
	}
	brokers := []string{*brokersFlag}
	if *debug {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
	}
	if *compacted != "" {
		if *end <= 0 {
			fail("-compacted needs -end N > 0")
		}
		if *client == "sarama" {
			readCompacted(brokers, *compacted, *end)
		} else if read, found := compactedReaders[*client]; found {
			read(brokers, *compacted, *end)
		} else {
			fail("-client %s is not built into this program (kafka-go: go build -tags kafkago)", *client)
		}
		return
	}

	variants := []variant{
		{"default-none", nil, sarama.CompressionNone, sarama.WaitForLocal, false},
		{"default-gzip", nil, sarama.CompressionGZIP, sarama.WaitForAll, false},
		{"default-snappy", nil, sarama.CompressionSnappy, sarama.WaitForLocal, false},
		{"v0102-none", v(sarama.V0_10_2_0), sarama.CompressionNone, sarama.WaitForAll, false},
		{"v0102-gzip", v(sarama.V0_10_2_0), sarama.CompressionGZIP, sarama.WaitForLocal, false},
		{"v0102-snappy", v(sarama.V0_10_2_0), sarama.CompressionSnappy, sarama.WaitForAll, false},
		{"v0102-lz4", v(sarama.V0_10_2_0), sarama.CompressionLZ4, sarama.WaitForAll, false},
		{"v1-none", v(sarama.V1_0_0_0), sarama.CompressionNone, sarama.WaitForAll, false},
		{"v1-gzip", v(sarama.V1_0_0_0), sarama.CompressionGZIP, sarama.WaitForAll, false},
		{"v1-lz4", v(sarama.V1_0_0_0), sarama.CompressionLZ4, sarama.WaitForLocal, false},
		{"v2-none", v(sarama.V2_0_0_0), sarama.CompressionNone, sarama.WaitForAll, false},
		{"v2-snappy", v(sarama.V2_0_0_0), sarama.CompressionSnappy, sarama.WaitForAll, false},
		{name: "v2-idempotent", version: v(sarama.V2_0_0_0), codec: sarama.CompressionLZ4,
			acks: sarama.WaitForAll, idempotent: true},
	}
	consumers := []*sarama.KafkaVersion{nil, v(sarama.V0_10_0_0), v(sarama.V0_10_2_0), v(sarama.V1_0_0_0)}
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for _, vr := range variants {
		topic := "sarama-" + vr.name
		fmt.Printf("== %s: producer %s, codec %s\n", topic, versionName(vr.version), vr.codec)
		createTopic(brokers, topic)
		sent := produce(brokers, topic, vr, base)
		for _, cv := range consumers {
			consume(brokers, topic, cv, magic(vr.version), sent)
		}
	}
	// A consumer that starts inside a stored batch, with fetches smaller than the batch: the
	// broker must return the records from the fetch offset on (Kafka drops the batch's earlier
	// records when it down-converts), or the consumer makes no progress.
	fmt.Println("== mid-batch start with small fetches")
	createTopic(brokers, "sarama-midbatch")
	sent := produce(brokers, "sarama-midbatch", variant{"midbatch", v(sarama.V1_0_0_0), sarama.CompressionNone, sarama.WaitForAll, false}, base)
	for _, cv := range consumers {
		consumeFrom(brokers, "sarama-midbatch", cv, 2, sent, 7, 200)
	}
	fmt.Println("all sarama checks passed")
}
