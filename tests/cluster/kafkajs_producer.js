// A kafkajs producer for the fault harness (nemesis.py): acks -1, one request in flight,
// idempotent unless told otherwise, writing the same JSON-lines history as `workload.py produce`
// (events send, ack with the offset, fail with the error, closed) so checker.py reads both alike.
// Values are "PID:PARTITION:SEQ" (PID = the given id and ".0"), one message per send() call,
// partitions in turn, about RATE messages a second. Runs until SIGTERM, then finishes the send
// under way, disconnects and exits 0.
//
// One partition per send(): kafkajs 2.2.4's idempotent producer (documented as experimental)
// mishandles a send whose partitions have different leaders when leadership moves during its
// retries: it can send an answered partition's records again under a new sequence (stored
// twice), skip a partition whose new leader already answered (resolving without it), and, having
// rolled the skipped partition's sequence back although the broker stored the records, reuse
// that sequence for the next records, which the broker then rightly answers as duplicates of the
// earlier ones (acknowledged, never stored). All three were seen in 3-node nemesis runs; a send
// to one partition has one leader, so its retries are the plain case the harness is after.
//
//   NODE_PATH=tests/compat/node_modules \
//   node kafkajs_producer.js HOST:PORT[,HOST:PORT] TOPIC PARTITIONS ID OUT_FILE RATE 0|1
'use strict';
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, partsArg, id, outPath, rateArg, idemArg] = process.argv.slice(2);
if (!idemArg) {
  console.error('usage: node kafkajs_producer.js BOOTSTRAP TOPIC PARTITIONS ID OUT RATE 0|1');
  process.exit(2);
}
const PARTS = Number(partsArg);
const RATE = Number(rateArg);
const idempotent = idemArg === '1';
const pid = `${id}.0`;
const out = fs.openSync(outPath, 'a');
const record = (type, fields) => {
  fs.writeSync(out, JSON.stringify({ ...fields, type, t: Date.now() / 1000 }) + '\n');
};

const kafka = new Kafka({
  clientId: `ferry-nemesis-${id}`,
  brokers: bootstrap.split(','),
  logLevel: logLevel.NOTHING,
  connectionTimeout: 3000,
  requestTimeout: 5000,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
});
const producer = kafka.producer({
  idempotent,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  // An idempotent producer retries without end (kafkajs asks for it); SIGTERM bounds the run.
  retry: { retries: idempotent ? Number.MAX_SAFE_INTEGER : 10, initialRetryTime: 100,
           maxRetryTime: 1000 },
});

let stopping = false;
process.on('SIGTERM', () => { stopping = true; });
process.on('SIGINT', () => { stopping = true; });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  while (!stopping) {
    try {
      await producer.connect();
      break;
    } catch (e) {
      record('error', { pid, err: `connect: ${e.message}` });
      await sleep(500);
    }
  }
  const seqs = new Array(PARTS).fill(0);
  const pause = 1000 / RATE;
  let next = Date.now();
  let turn = 0;
  while (!stopping) {
    const p = turn++ % PARTS;
    const seq = seqs[p]++;
    const messages = [{ partition: p, key: pid, value: `${pid}:${p}:${seq}` }];
    const sent = [{ p, seq }];
    record('send', { pid, p, seq });
    try {
      const meta = await producer.send({ topic, acks: -1, timeout: 5000, messages });
      // One message per send: the partition's base offset is the message's. Should kafkajs's
      // answer name the partition twice (a resend under a new sequence, see above), the history
      // says so: the checker then counts that record as the client's own resend.
      const bases = new Map();
      for (const m of meta) {
        if (!bases.has(m.partition)) bases.set(m.partition, []);
        bases.get(m.partition).push(Number(m.baseOffset));
      }
      for (const s of sent) {
        const offsets = bases.get(s.p);
        if (!offsets) {
          record('fail', { pid, p: s.p, seq: s.seq, err: 'no metadata for the partition' });
          continue;
        }
        if (offsets.length > 1) record('client-resend', { pid, p: s.p, seq: s.seq, offsets });
        record('ack', { pid, p: s.p, seq: s.seq, o: offsets[offsets.length - 1] });
      }
    } catch (e) {
      const err = `${e.name}: ${e.message}`.replace(/\n/g, ' ');
      for (const s of sent) record('fail', { pid, p: s.p, seq: s.seq, err });
    }
    next += pause;
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    else next = Date.now();
  }
  try {
    await producer.disconnect();
  } catch (e) {
    record('error', { pid, err: `disconnect: ${e.message}` });
  }
  record('closed', { pid });
  fs.closeSync(out);
}

main().then(
  () => process.exit(0),
  (e) => {
    record('error', { pid, err: `${e.name}: ${e.message}` });
    process.exit(1);
  },
);
