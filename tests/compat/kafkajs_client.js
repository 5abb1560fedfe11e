// kafkajs 2.2.4 against ferry (run by test_kafkajs.py, which starts the broker and afterwards
// reads the topics back with kcat): admin createTopics / fetchTopicMetadata / describeConfigs /
// fetchTopicOffsets / deleteTopics, and producer.send with acks -1 and 1, with and without gzip,
// keyed and explicitly partitioned. Writes what the broker acknowledged, as
// {topic: {partition: [[offset, key, value], ...]}}, to the JSON file named by argv[3].
//
//   node kafkajs_client.js 127.0.0.1:PORT out.json
'use strict';
const fs = require('fs');
const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes, Partitioners, CompressionCodecs } = require('kafkajs');
// Topics are stored as LZ4 by default: kafkajs reads them through this codec.
CompressionCodecs[CompressionTypes.LZ4] = require('./kafkajs_lz4');

const [bootstrap, outPath] = process.argv.slice(2);
if (!bootstrap || !outPath) {
  console.error('usage: node kafkajs_client.js HOST:PORT OUT.json');
  process.exit(2);
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`  ok: ${what}`);
}
function eq(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) throw new Error(`check failed: ${what}: got ${g}, want ${w}`);
  console.log(`  ok: ${what}`);
}

const kafka = new Kafka({
  clientId: 'ferry-compat-kafkajs',
  brokers: [bootstrap],
  logLevel: logLevel.WARN,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 5, initialRetryTime: 100 },
});

const TOPICS = {
  'kj-acks-all': { acks: -1, compression: CompressionTypes.None },
  'kj-acks1': { acks: 1, compression: CompressionTypes.None },
  'kj-gzip': { acks: -1, compression: CompressionTypes.GZIP },
  'kj-gzip-acks1': { acks: 1, compression: CompressionTypes.GZIP },
};
const SENDS = 4;        // producer.send calls per topic
const PER_SEND = 30;    // messages per call

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  const acked = {};
  try {
    console.log('== admin.createTopics');
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: Object.keys(TOPICS).concat(['kj-delete-me']).map((topic) => ({
        topic,
        numPartitions: 3,
        configEntries: topic === 'kj-acks-all' ? [{ name: 'retention.ms', value: '86400000' }] : [],
      })),
    });
    eq(created, true, 'createTopics created all five topics');
    eq(await admin.createTopics({ topics: [{ topic: 'kj-acks1', numPartitions: 3 }] }), false,
      'createTopics of an existing topic returns false');

    console.log('== admin.fetchTopicMetadata / listTopics');
    const md = await admin.fetchTopicMetadata({ topics: Object.keys(TOPICS) });
    for (const t of md.topics) {
      eq(t.partitions.map((p) => p.partitionId).sort(), [0, 1, 2], `${t.name}: partitions 0,1,2`);
      check(t.partitions.every((p) => p.partitionErrorCode === 0 && p.leader >= 0),
        `${t.name}: every partition has a leader and no error`);
    }
    const listed = await admin.listTopics();
    check(Object.keys(TOPICS).every((t) => listed.includes(t)), 'listTopics lists the topics');

    console.log('== admin.describeConfigs');
    const dc = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kj-acks-all' }],
    });
    const entries = Object.fromEntries(dc.resources[0].configEntries.map((e) => [e.configName, e]));
    eq(dc.resources[0].errorCode, 0, 'describeConfigs: no error');
    eq(entries['retention.ms'] && entries['retention.ms'].configValue, '86400000',
      'retention.ms = 86400000 as created');
    eq(entries['cleanup.policy'] && entries['cleanup.policy'].configValue, 'delete',
      'cleanup.policy = delete');

    console.log('== producer.send');
    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
    await producer.connect();
    try {
      for (const [topic, opts] of Object.entries(TOPICS)) {
        acked[topic] = { 0: [], 1: [], 2: [] };
        for (let s = 0; s < SENDS; s++) {
          const messages = [];
          for (let i = 0; i < PER_SEND; i++) {
            const n = s * PER_SEND + i;
            // Half keyed (default partitioner), half with an explicit partition.
            const m = { key: `key-${n % 7}`, value: `${topic}-${String(n).padStart(5, '0')}` };
            if (n % 2 === 1) m.partition = n % 3;
            messages.push(m);
          }
          const meta = await producer.send({
            topic, messages, acks: opts.acks, compression: opts.compression, timeout: 15000,
          });
          // One RecordMetadata per partition: baseOffset of that partition's batch in this send.
          const next = {};
          for (const r of meta) {
            check(r.errorCode === 0, `${topic} send ${s}: partition ${r.partition} error 0`);
            next[r.partition] = Number(r.baseOffset);
          }
          // kafkajs groups messages per partition in order; we need each message's partition,
          // so recompute it as kafkajs does: explicit partition, else the default partitioner.
          const partitioner = Partitioners.DefaultPartitioner();
          const partitionMetadata = md.topics.find((t) => t.name === topic).partitions;
          for (const m of messages) {
            const p = m.partition !== undefined ? m.partition
              : partitioner({ topic, partitionMetadata, message: { key: m.key, value: m.value } });
            if (next[p] === undefined) throw new Error(`${topic}: no RecordMetadata for partition ${p}`);
            acked[topic][p].push([next[p]++, m.key, m.value]);
          }
          for (const r of meta) {
            const expectEnd = acked[topic][r.partition].length;
            eq(next[r.partition], expectEnd,
              `${topic} send ${s}: partition ${r.partition} offsets contiguous up to ${expectEnd}`);
          }
        }
      }
    } finally {
      await producer.disconnect();
    }

    console.log('== admin.fetchTopicOffsets');
    for (const topic of Object.keys(TOPICS)) {
      const offs = await admin.fetchTopicOffsets(topic);
      const got = offs.sort((a, b) => a.partition - b.partition)
        .map((o) => [o.partition, Number(o.low), Number(o.high)]);
      const want = [0, 1, 2].map((p) => [p, 0, acked[topic][p].length]);
      eq(got, want, `${topic}: fetchTopicOffsets low/high match what was acknowledged`);
      check(want.every(([, , hi]) => hi > 0), `${topic}: all 3 partitions got records`);
    }
    const since = await admin.fetchTopicOffsetsByTimestamp('kj-acks-all', Date.now() + 3600000);
    eq(since.sort((a, b) => a.partition - b.partition).map((o) => Number(o.offset)),
      [0, 1, 2].map((p) => acked['kj-acks-all'][p].length),
      'fetchTopicOffsetsByTimestamp(future) gives the end offsets');

    console.log('== admin.deleteTopics');
    await admin.deleteTopics({ topics: ['kj-delete-me'], timeout: 15000 });
    const after = await admin.listTopics();
    check(!after.includes('kj-delete-me'), 'kj-delete-me is gone after deleteTopics');
  } finally {
    await admin.disconnect();
  }
  fs.writeFileSync(outPath, JSON.stringify(acked));
  console.log(`wrote ${outPath}`);
}

main().then(() => process.exit(0), (e) => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
