// Publishes a ForcePoll command to msx knowing only its subject, and waits for the master's answer.
// Usage: MSX_BOOTSTRAP_SERVERS=host:port MSX_SCHEMA_REGISTRY_URL=http://.../apis/ccompat/v7 \
//        [MSX_TOPIC_PREFIX=msx.] [MSX_SECURITY_PROTOCOL=SASL_PLAINTEXT MSX_SASL_MECHANISM=SCRAM-SHA-512 \
//        MSX_SASL_JAAS_CONFIG='...ScramLoginModule required username="u" password="p";'] node force-poll.js T1 [T2 ...]
// The security variables are the ones the msx CLI reads; of the JAAS config only username and password are used.
// Prints the CommandResult as JSON; exits 0 when ACCEPTED, 1 when REJECTED, 3 when no answer came in time.
const { Kafka, logLevel } = require('kafkajs');
const { SchemaRegistry } = require('@kafkajs/confluent-schema-registry');
const { randomUUID } = require('crypto');

async function main() {
  const bootstrap = process.env.MSX_BOOTSTRAP_SERVERS;
  const registryUrl = process.env.MSX_SCHEMA_REGISTRY_URL;
  const prefix = process.env.MSX_TOPIC_PREFIX || 'msx.';
  if (!bootstrap || !registryUrl) {
    console.error('force-poll: set MSX_BOOTSTRAP_SERVERS and MSX_SCHEMA_REGISTRY_URL');
    return 2;
  }
  const registry = new SchemaRegistry({ host: registryUrl });
  // All the script knows: the subject. It writes with the latest registered version.
  const id = await registry.getLatestSchemaId('io.msx.avro.command.ForcePoll');
  const commandId = randomUUID();
  const value = await registry.encode(id, {
    header: { commandId, issuedAt: Date.now(), issuedBy: 'node-script' },
    targets: process.argv.slice(2),
  });

  const kafka = new Kafka({ clientId: 'msx-node-example', brokers: bootstrap.split(','), logLevel: logLevel.WARN,
    ...security(process.env) });
  const consumer = kafka.consumer({ groupId: 'msx-node-example-' + commandId });
  await consumer.connect();
  // From the beginning and matched by key: no race with the answer, whatever the consumer's start-up takes.
  await consumer.subscribe({ topic: prefix + 'command-results', fromBeginning: true });
  let answer;
  const answered = new Promise((resolve) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        if (message.key && message.key.toString() === commandId) {
          answer = await registry.decode(message.value);
          resolve();
        }
      },
    });
  });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: prefix + 'commands', messages: [{ key: commandId, value }] });
  await producer.disconnect();

  const timeout = new Promise((resolve) => setTimeout(resolve, 30000));
  await Promise.race([answered, timeout]);
  await consumer.disconnect();
  if (!answer) {
    console.error('force-poll: no answer to command ' + commandId + ' within 30 s');
    return 3;
  }
  console.log(JSON.stringify({ commandId, status: answer.status, reason: answer.reason,
    instructions: answer.instructions.map((i) => ({ target: i.target, operation: i.operation })) }));
  return answer.status === 'ACCEPTED' ? 0 : 1;
}

// kafkajs settings for MSX_SECURITY_PROTOCOL (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) and the SASL variables.
function security(env) {
  const protocol = (env.MSX_SECURITY_PROTOCOL || 'PLAINTEXT').toUpperCase();
  const settings = { ssl: protocol === 'SSL' || protocol === 'SASL_SSL' };
  if (protocol.startsWith('SASL_')) {
    const jaas = env.MSX_SASL_JAAS_CONFIG || '';
    const option = (name) => (jaas.match(new RegExp(name + '\\s*=\\s*"([^"]*)"')) || [])[1];
    settings.sasl = { mechanism: (env.MSX_SASL_MECHANISM || 'PLAIN').toLowerCase(),
      username: option('username'), password: option('password') };
  }
  return settings;
}

main().then((code) => process.exit(code), (e) => {
  console.error('force-poll: ' + e.message);
  process.exit(1);
});
