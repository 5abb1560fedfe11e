// A kafkajs 2.2.4 producer for test_idempotent_kafkajs.py: sends N messages whose value is the
// global sequence number ("%08d" of i) to partition i % PARTITIONS, SEND_SIZE messages per
// producer.send() call (acks -1, one request in flight), with `idempotent: true` or false, and
// generous retries (the test runs it through a proxy that loses responses and drops connections,
// and kills the broker twice). After each acknowledged send it prints a line the test reads to
// time its kills:
//
//   progress DELIVERED        messages acknowledged so far
//   done DELIVERED            all sent; exit code 0
//   error MESSAGE             a send failed for good; exit code 1
//
//   node kafkajs_idempotent_producer.js HOST:PORT TOPIC N SEND_SIZE PARTITIONS IDEMPOTENT(0|1)
'use strict';
const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = require('kafkajs');
// Topics are stored as LZ4 by default: kafkajs reads them through this codec.
CompressionCodecs[CompressionTypes.LZ4] = require('./kafkajs_lz4');

const [bootstrap, topic, nArg, sendArg, partsArg, idemArg] = process.argv.slice(2);
if (!idemArg) {
  console.error('usage: node kafkajs_idempotent_producer.js HOST:PORT TOPIC N SEND_SIZE PARTITIONS 0|1');
  process.exit(2);
}
const N = Number(nArg);
const SEND_SIZE = Number(sendArg);
const PARTS = Number(partsArg);
const idempotent = idemArg === '1';

const kafka = new Kafka({
  clientId: `ferry-compat-kj-idem-${process.pid}`,
  brokers: [bootstrap],
  logLevel: process.env.FERRY_COMPAT_DEBUG ? logLevel.DEBUG : logLevel.WARN,
  connectionTimeout: 3000,
  requestTimeout: 10000,
  retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1000, factor: 0.2, multiplier: 2 },
});
// An idempotent kafkajs producer wants unlimited retries (it warns otherwise); the test bounds
// the run's time.
const producer = kafka.producer({
  idempotent,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  retry: {
    retries: idempotent ? Number.MAX_SAFE_INTEGER : 40,
    initialRetryTime: 100,
    maxRetryTime: 1000,
    factor: 0.2,
    multiplier: 2,
  },
});

const pad = (i) => String(i).padStart(8, '0');

async function main() {
  await producer.connect();
  let delivered = 0;
  for (let start = 0; start < N; start += SEND_SIZE) {
    const messages = [];
    for (let i = start; i < Math.min(N, start + SEND_SIZE); i++) {
      messages.push({ partition: i % PARTS, value: pad(i) });
    }
    await producer.send({ topic, acks: -1, messages });
    delivered += messages.length;
    console.log(`progress ${delivered}`);
  }
  await producer.disconnect();
  console.log(`done ${delivered}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(`error ${e.name}: ${e.message}`.replace(/\n/g, ' '));
    process.exit(1);
  },
);
