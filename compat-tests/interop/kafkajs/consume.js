// A kafkajs 2.2.4 group consumer: joins GROUP, reads N records from TOPIC (committing as it
// goes, then once more on the way out), and prints the values as JSON on stdout.
// Usage: node consume.js BOOTSTRAP GROUP TOPIC N
const { Kafka, logLevel } = require("kafkajs");

async function main() {
  const [bootstrap, group, topic, n] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: "charter-interop", brokers: [bootstrap], logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${values.length} of ${n} records`)), 60000);
    consumer
      .run({
        autoCommit: true,
        eachMessage: async ({ message }) => {
          values.push(message.value.toString());
          if (values.length === Number(n)) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect(); // commits the resolved offsets, then leaves the group
  console.log(JSON.stringify({ values }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
