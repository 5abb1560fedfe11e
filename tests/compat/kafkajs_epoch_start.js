// Reads a topic from the start with a kafkajs consumer group (auto-commit) and prints one JSON
// line per record ({offset, key, value}) until `count` records have arrived, then commits,
// disconnects and exits. Used by test_epoch_start.py: argv = brokers topic groupId count.
const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = require("kafkajs");
// Topics are stored as LZ4 by default; kafkajs ships no LZ4 codec.
CompressionCodecs[CompressionTypes.LZ4] = require("./kafkajs_lz4");

async function main() {
  const [brokers, topic, groupId, countText] = process.argv.slice(2);
  const count = Number(countText);
  const kafka = new Kafka({ brokers: [brokers], clientId: "ferry-compat", logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const timer = setTimeout(() => finish("timeout"), 60000);
  await consumer.run({
    autoCommitInterval: 100,
    eachMessage: async ({ message }) => {
      process.stdout.write(
        JSON.stringify({
          offset: message.offset,
          key: message.key === null ? null : message.key.toString(),
          value: message.value === null ? null : message.value.toString(),
        }) + "\n",
      );
      if (++seen >= count) finish("count");
    },
  });
  const why = await done;
  clearTimeout(timer);
  await consumer.disconnect();  // commits the offsets resolved so far
  if (why !== "count") {
    process.stderr.write(`kafkajs: got ${seen} of ${count} records\n`);
    process.exit(1);
  }
}

main().catch((e) => {
  process.stderr.write(`kafkajs: ${e.stack || e}\n`);
  process.exit(1);
});
