// kafkajs 2.2.4 over SASL_PLAINTEXT (run by test_sasl.py): authenticates with the mechanism
// given, produces three records and reads them back; with a wrong password it must be refused.
//
//   node kafkajs_sasl.js HOST:PORT MECHANISM USER PASSWORD TOPIC [expect-failure]
//
// With FERRY_KAFKAJS_CA set (a PEM file of CAs) it speaks SASL_SSL instead (run by
// test_sasl_ssl.py).
'use strict';
const fs = require('fs');
const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = require('kafkajs');
// Topics are stored as LZ4 by default: kafkajs reads them through this codec.
CompressionCodecs[CompressionTypes.LZ4] = require('./kafkajs_lz4');

const [bootstrap, mechanism, username, password, topic, expect] = process.argv.slice(2);
const kafka = new Kafka({
  clientId: 'ferry-compat-kafkajs-sasl',
  brokers: [bootstrap],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: expect ? 0 : 3, initialRetryTime: 100 },
  sasl: { mechanism: mechanism.toLowerCase(), username, password },
  ssl: process.env.FERRY_KAFKAJS_CA ? { ca: [fs.readFileSync(process.env.FERRY_KAFKAJS_CA)] } : undefined,
});

async function main() {
  const producer = kafka.producer();
  if (expect === 'expect-failure') {
    try {
      await producer.connect();
    } catch (e) {
      console.log(`  refused: ${e.type || e.name}: ${e.message}`);
      if (!/SASL_AUTHENTICATION_FAILED|Authentication failed/i.test(`${e.type} ${e.message}`))
        throw new Error(`unexpected error ${e.type}: ${e.message}`);
      return;
    }
    throw new Error('authenticated with a wrong password');
  }
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [0, 1, 2].map((i) => ({ value: `kj-${mechanism}-${i}` })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `kj-sasl-${mechanism}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} records`)), 20000);
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value.toString());
        if (got.length >= 3) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  console.log(`  kafkajs ${mechanism}: read ${got.length} records`);
}

main().catch((e) => {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
