// Produces N records with kafkajs (acks=-1, gzip and none), then reports the topic's offsets
// as JSON on stdout. Usage: node produce.js BOOTSTRAP TOPIC N
const { Kafka, CompressionTypes, logLevel } = require("kafkajs");

async function main() {
  const [bootstrap, topic, n] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: "charter-interop", brokers: [bootstrap], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const half = Math.floor(Number(n) / 2);
  const batch = (from, to) =>
    Array.from({ length: to - from }, (_, i) => ({ key: `k${from + i}`, value: `kafkajs-${from + i}` }));
  const r1 = await producer.send({ topic, acks: -1, messages: batch(0, half) });
  const r2 = await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: batch(half, Number(n)) });
  const offsets = await admin.fetchTopicOffsets(topic);
  await producer.disconnect();
  await admin.disconnect();
  console.log(JSON.stringify({ sends: [r1, r2], offsets }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
