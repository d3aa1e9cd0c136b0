import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { RemoteClient } from '../../../src/engine/remote/remote-client.js';
import { protoPath } from '../../../src/grpc/grpc-server.js';

// grpcs:// with REMOTE_CA_FILE: a TLS Open Inference server whose certificate only that file vouches for.

describe('RemoteClient over TLS (grpcs://)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'remote-tls-'));
  const server = new grpc.Server();
  let url: string;
  before(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const proto = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { keepCase: true })) as unknown as {
      inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
    };
    server.addService(proto.inference.GRPCInferenceService.service, {
      ServerReady: (_call: unknown, callback: grpc.sendUnaryData<{ ready: boolean }>) =>
        callback(null, { ready: true }),
    });
    const credentials = grpc.ServerCredentials.createSsl(null, [
      { private_key: readFileSync(join(dir, 'key.pem')), cert_chain: readFileSync(join(dir, 'cert.pem')) },
    ]);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    url = `grpcs://127.0.0.1:${port}`;
  });
  after(() => {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the server with REMOTE_CA_FILE, and not without it', async () => {
    const trusted = new RemoteClient({ url, caFile: join(dir, 'cert.pem'), token: undefined });
    const untrusted = new RemoteClient({ url, caFile: undefined, token: undefined });
    try {
      assert.equal(await trusted.serverReady(5000), true);
      await assert.rejects(
        untrusted.serverReady(5000),
        (error: grpc.ServiceError) => error.code === grpc.status.UNAVAILABLE,
      );
    } finally {
      trusted.close();
      untrusted.close();
    }
  });
});
