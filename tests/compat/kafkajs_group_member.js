// One kafkajs 2.2.4 consumer-group member for test_groups_kafkajs.py, run as its own process so
// that the test can stop it (SIGTERM: disconnect, i.e. LeaveGroup, and exit 0) or kill it
// (SIGKILL). It subscribes to one topic from the beginning (consumer.run with eachMessage,
// autoCommit false, the default RoundRobinAssigner, sessionTimeout 6000, heartbeatInterval 1000)
// and commits each message's offset with consumer.commitOffsets after writing it to its output
// file. The output file has the format of groups_consumer.py's, one event a line, written at
// once (appendFileSync), so the test reads it with the same Member methods:
//
//   assign 0,3          GROUP_JOIN (the partitions now assigned; "-" for none)
//   rec P OFFSET VALUE  a message, written before its offset is committed
//   commit P:O          a successful commit (O = next offset to read)
//   commitfail ERROR    a failed commit (the error is rethrown to kafkajs)
//   error ERROR         a CRASH event
//   closed              disconnect() returned (after SIGTERM)
//
//   node kafkajs_group_member.js BOOTSTRAP TOPIC GROUP OUT [SESSION_TIMEOUT_MS]
'use strict';
const fs = require('fs');
const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = require('kafkajs');
// Topics are stored as LZ4 by default: kafkajs reads them through this codec.
CompressionCodecs[CompressionTypes.LZ4] = require('./kafkajs_lz4');

const [bootstrap, topic, groupId, out, sessionMs] = process.argv.slice(2);
if (!out) {
  console.error('usage: node kafkajs_group_member.js HOST:PORT TOPIC GROUP OUT [SESSION_TIMEOUT_MS]');
  process.exit(2);
}
const emit = (line) => fs.appendFileSync(out, `${line}\n`);

const kafka = new Kafka({
  clientId: `ferry-compat-kj-${process.pid}`,
  brokers: [bootstrap],
  logLevel: process.env.FERRY_COMPAT_DEBUG ? logLevel.DEBUG : logLevel.WARN,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 5, initialRetryTime: 100 },
});
const consumer = kafka.consumer({
  groupId,
  sessionTimeout: Number(sessionMs || 6000),
  rebalanceTimeout: 10000,
  heartbeatInterval: 1000,
  maxWaitTimeInMs: 100,
  retry: { retries: 5, initialRetryTime: 100 },
});
consumer.on(consumer.events.GROUP_JOIN, (e) => {
  const parts = (e.payload.memberAssignment[topic] || []).slice().sort((x, y) => x - y);
  emit(`assign ${parts.join(',') || '-'}`);
});
consumer.on(consumer.events.CRASH, (e) => emit(`error ${e.payload.error}`));

let stopping = false;
process.on('SIGTERM', async () => {
  if (stopping) return;
  stopping = true;
  try {
    await consumer.disconnect();
    emit('closed');
    process.exit(0);
  } catch (e) {
    emit(`error disconnect: ${e}`);
    process.exit(1);
  }
});

async function main() {
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      emit(`rec ${partition} ${message.offset} ${message.value.toString()}`);
      const next = (BigInt(message.offset) + 1n).toString();
      try {
        await consumer.commitOffsets([{ topic, partition, offset: next }]);
      } catch (e) {
        emit(`commitfail ${e.name}: ${e.message}`);
        throw e;
      }
      emit(`commit ${partition}:${next}`);
    },
  });
}

main().catch((e) => {
  emit(`error ${e.stack || e}`);
  process.exit(1);
});
