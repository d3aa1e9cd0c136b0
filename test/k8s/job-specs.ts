// What the batch Job tests (k8s/jobs, k8s/jobs/s3) read from rendered manifests: the job specs, the CLI argv
// their container runs, and schema validation.
import assert from 'node:assert/strict';
import { findAll, type K8sObject } from './kustomize.js';
import { schemaModules } from './schema-modules.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

export async function validateAgainstSchema(obj: K8sObject): Promise<void> {
  const prefix = schemaModules[obj.apiVersion];
  assert.ok(prefix, `${obj.kind}/${obj.metadata.name}: no schema package for apiVersion ${obj.apiVersion}`);
  const mod = (await import(`${prefix}/${obj.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[obj.kind];
  assert.equal(typeof Model, 'function', `${prefix}/${obj.kind} exports no model`);
  try {
    new (Model as new (data: unknown) => { validate(): void })(obj).validate();
  } catch (err) {
    assert.fail(`${obj.kind}/${obj.metadata.name} (${obj.apiVersion}) is invalid: ${(err as Error).message}`);
  }
}

/** The Job's spec and the CronJob's job template, each with its name. */
export function jobSpecs(objs: K8sObject[]): [string, Any][] {
  return [
    ...findAll(objs, 'Job').map((job): [string, Any] => [`Job/${job.metadata.name}`, job.spec]),
    ...findAll(objs, 'CronJob').map((cron): [string, Any] => [
      `CronJob/${cron.metadata.name}`,
      cron.spec.jobTemplate.spec,
    ]),
  ];
}

/** The CLI argv a batch container runs, with the shell's date filled in for the CronJob. */
export function cliArgv(container: Any): string[] {
  const command: string[] = container.command;
  if (command[0] === 'node') return [...command.slice(1), ...container.args];
  assert.deepEqual(command.slice(0, 2), ['/bin/sh', '-c'], 'a shell script, or node itself');
  const script: string = command[2] ?? '';
  const exec = /^exec node (.*) "\$@"$/m.exec(script);
  assert.ok(exec, 'the script ends by exec-ing node with the flags of args ("$@")');
  assert.match(script, /^set -eu$/m, 'the script stops at the first failing command');
  const words = (exec[1] ?? '').replaceAll('$day', '2026-01-01').match(/"[^"]*"|\S+/g) ?? [];
  return [...words.map((word) => word.replace(/^"(.*)"$/, '$1')), ...container.args];
}
