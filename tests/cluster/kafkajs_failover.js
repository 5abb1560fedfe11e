// The kafkajs clients of client_failover.py, with kafkajs's DEFAULT retry settings (retries 5,
// not idempotent, acks -1 by default; only the brokers, a client id and the group are given):
//   produce: numbered records "PREFIX:SEQ" to partition 0, one send() at a time, about RATE a
//            second; history events send (seq), ack (seq, offset), fail (seq, error), closed.
//   consume: a group member (fromBeginning); events seen (offset, value), closed.
// Runs until SIGTERM, then finishes what is under way, disconnects and exits 0.
//
//   NODE_PATH=tests/compat/node_modules \
//     node kafkajs_failover.js produce BOOTSTRAP TOPIC PREFIX OUT RATE
//   NODE_PATH=tests/compat/node_modules \
//     node kafkajs_failover.js consume BOOTSTRAP TOPIC GROUP OUT
'use strict';
const fs = require('fs');
const path = require('path');
const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = require('kafkajs');

// kafkajs ships no LZ4 codec and ferry stores batches as LZ4 by default (compression.type):
// the consumer registers the plain-JavaScript one of tests/compat, as an application registers
// a codec package.
CompressionCodecs[CompressionTypes.LZ4] =
  require(path.join(__dirname, '..', 'compat', 'kafkajs_lz4.js'));

const [role, bootstrap, topic, name, outPath, rateArg] = process.argv.slice(2);
if (!outPath || (role !== 'produce' && role !== 'consume')) {
  console.error('usage: kafkajs_failover.js produce|consume BOOTSTRAP TOPIC PREFIX|GROUP OUT '
                + '[RATE]');
  process.exit(2);
}
const out = fs.openSync(outPath, 'a');
const record = (type, fields) => {
  fs.writeSync(out, JSON.stringify({ ...fields, type, t: Date.now() / 1000 }) + '\n');
};
const kafka = new Kafka({ clientId: `ferry-failover-${role}`, brokers: bootstrap.split(','),
                          logLevel: logLevel.ERROR });
let stopping = false;
process.on('SIGTERM', () => { stopping = true; });
process.on('SIGINT', () => { stopping = true; });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function produce() {
  const producer = kafka.producer();
  while (!stopping) {
    try {
      await producer.connect();
      break;
    } catch (e) {
      record('error', { err: `connect: ${e.message}` });
      await sleep(500);
    }
  }
  const pause = 1000 / Number(rateArg || 20);
  let next = Date.now();
  for (let seq = 0; !stopping; seq++) {
    record('send', { seq });
    try {
      const messages = [{ partition: 0, value: `${name}:${seq}` }];
      const meta = await producer.send({ topic, messages });
      record('ack', { seq, o: Number(meta[meta.length - 1].baseOffset) });
    } catch (e) {
      record('fail', { seq, err: `${e.name}: ${e.message}`.replace(/\n/g, ' ') });
    }
    next += pause;
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    else next = Date.now();
  }
  await producer.disconnect();
}

async function consume() {
  const consumer = kafka.consumer({ groupId: name });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      record('seen', { o: Number(message.offset), v: message.value.toString() });
    },
  });
  while (!stopping) await sleep(100);
  await consumer.disconnect();
}

(role === 'produce' ? produce() : consume()).then(
  () => {
    record('closed', {});
    fs.closeSync(out);
    process.exit(0);
  },
  (e) => {
    record('error', { err: `${e.name}: ${e.message}` });
    process.exit(1);
  },
);
