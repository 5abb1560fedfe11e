// Reads a topic from the start with a kafkajs consumer group and prints one JSON line per record
// ({offset, key, value}) until the partition's high watermark `end` is reached, then exits.
// Used by test_compaction.py: argv = brokers topic groupId end.
const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = require("kafkajs");
// Cleaned batches are LZ4 (the cleaner re-compresses them); kafkajs ships no LZ4 codec.
CompressionCodecs[CompressionTypes.LZ4] = require("./kafkajs_lz4");

async function main() {
  const [brokers, topic, groupId, endText] = process.argv.slice(2);
  const end = BigInt(endText);
  const kafka = new Kafka({ brokers: [brokers], clientId: "ferry-compat", logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const timer = setTimeout(() => finish("timeout"), 30000);
  await consumer.run({
    eachMessage: async ({ message }) => {
      process.stdout.write(
        JSON.stringify({
          offset: message.offset,
          key: message.key === null ? null : message.key.toString(),
          value: message.value === null ? null : message.value.toString(),
        }) + "\n",
      );
      if (BigInt(message.offset) + 1n >= end) finish("end");
    },
  });
  const why = await done;
  clearTimeout(timer);
  await consumer.disconnect();
  if (why !== "end") {
    process.stderr.write("kafkajs: did not reach the end offset\n");
    process.exit(1);
  }
}

main().catch((e) => {
  process.stderr.write(`kafkajs: ${e.stack || e}\n`);
  process.exit(1);
});
