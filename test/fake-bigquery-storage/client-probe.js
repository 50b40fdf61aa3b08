'use strict';
/**
 * Runs one scenario of the real @google-cloud/bigquery-storage client in a process of its own
 * (a trap may crash it, or reach for the network): `node -r loopback-guard client-probe.js <scenario>`
 * with PROBE_PORT (a fake on 127.0.0.1) and PROBE_STREAM. Prints one JSON line; exits 0 unless the client crashed it.
 */
const grpc = require('@grpc/grpc-js');
const { managedwriter } = require('@google-cloud/bigquery-storage');
const guard = require('../fake-bigquery/loopback-guard');

const port = Number(process.env.PROBE_PORT);
const insecure = () => grpc.credentials.createInsecure();
const ENDPOINTS = {
  // host:port in one option: the client appends its default port and resolves "127.0.0.1:<port>:443".
  'host-and-port-together': { servicePath: `127.0.0.1:${port}`, sslCreds: insecure(), universeDomain: 'googleapis.com' },
  // TLS credentials from Google's auth library: on (what looks like) Google Cloud, the metadata server.
  'no-insecure-credentials': { servicePath: '127.0.0.1', port, universeDomain: 'googleapis.com' },
  // The universe-domain check asks the auth library, which looks for credentials all the same.
  'no-universe-domain': { servicePath: '127.0.0.1', port, sslCreds: insecure() },
  plaintext: { servicePath: '127.0.0.1', port, sslCreds: insecure(), universeDomain: 'googleapis.com' },
};

async function main(scenario) {
  if (ENDPOINTS[scenario]) {
    const client = new managedwriter.WriterClient(ENDPOINTS[scenario]);
    let outcome = 'ok';
    try {
      await client.getClient().getWriteStream({ name: process.env.PROBE_STREAM }, { timeout: 5000 });
    } catch (error) {
      outcome = `error ${error.code}`;
    }
    return { outcome, violations: guard.violations() };
  }
  // An append over 10 MB: the fake ends the call with INVALID_ARGUMENT, a non-retryable status.
  const client = new managedwriter.WriterClient(ENDPOINTS.plaintext);
  const connection = await client.createStreamConnection({ streamId: process.env.PROBE_STREAM });
  if (scenario === 'non-retryable-with-listener') connection.onConnectionError(() => undefined);
  const writer = new managedwriter.Writer({
    connection,
    protoDescriptor: { name: 'root', field: [{ name: 'path', number: 1, type: 'TYPE_BYTES', label: 'LABEL_OPTIONAL' }] },
  });
  let outcome;
  try {
    await writer.appendRows({ serializedRows: [Buffer.alloc(11 * 1024 * 1024, 1)] }, 0).getResult();
    outcome = 'resolved';
  } catch (error) {
    outcome = `rejected ${error.code}`;
  }
  return { outcome, violations: guard.violations() };
}

main(process.argv[2]).then((result) => {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
});
