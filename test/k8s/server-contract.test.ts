// Holds test/k8s/server-contract.ts (what the manifests, alerts and dashboard are checked against) to the
// real server: its settings, routes, probe answers and exported metrics.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, settings } from '../../src/config/config.js';
import { Service } from '../../src/service.js';
import { serverContract } from './server-contract.js';

describe('server contract used by the deployment', () => {
  let service: Service;
  before(async () => {
    service = await Service.start({ config: loadConfig([], { LOG_LEVEL: 'silent', INTRA_OP_THREADS: '1' }) });
    await service.http.ready();
  });
  after(async () => {
    await service?.close();
  });

  it('has the defaults the manifests assume', () => {
    const byEnv = new Map(settings.map((s) => [s.env, s]));
    assert.equal(byEnv.get('PORT')?.defaultValue, String(serverContract.defaultPort));
    for (const [name, value] of Object.entries(serverContract.defaults)) {
      assert.equal(byEnv.get(name)?.defaultValue, String(value), `default of ${name}`);
    }
  });

  it('serves every route the manifests point at', () => {
    for (const [method, urls] of Object.entries(serverContract.routes)) {
      for (const url of urls)
        assert.ok(service.http.hasRoute({ method: method as 'GET' | 'POST', url }), `${method} ${url}`);
    }
  });

  it('answers the probes once built', async () => {
    for (const url of [serverContract.livenessPath, serverContract.readinessPath]) {
      const res = await service.http.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, `${url} -> ${res.statusCode}`);
    }
  });

  it('exports every metric the alerts and dashboard use, with the right type', async () => {
    const res = await service.http.inject({ method: 'GET', url: serverContract.metricsPath });
    assert.equal(res.statusCode, 200);
    const types = new Map<string, string>();
    for (const m of res.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
    for (const [type, names] of Object.entries(serverContract.metrics)) {
      for (const name of names) assert.equal(types.get(name), type, `${name} is a ${type}`);
    }
    for (const name of serverContract.defaultMetrics) assert.ok(types.has(name), `default metric ${name}`);
  });
});
