// Unknown-field check. The kubernetes-models JSON schemas do not forbid additional properties, so a
// misspelt field (`readOnlyRootFileSystem`, `imagePullPolice`) validates and is then silently dropped by
// the API server. Their TypeScript interfaces do know every field: type-check each rendered object as an
// object literal of its interface, and TypeScript's excess-property check reports any unknown field.
import ts from 'typescript';
import path from 'node:path';
import { repoRoot, type K8sObject } from './kustomize.js';

export function unknownFieldErrors(objects: K8sObject[], schemaModules: Record<string, string>): string[] {
  const lines: string[] = [];
  objects.forEach((obj, i) => {
    const prefix = schemaModules[obj.apiVersion];
    if (!prefix) return; // reported by the schema test
    lines.push(`import type { I${obj.kind} as T${i} } from '${prefix}/${obj.kind}';`);
    lines.push(`// ${obj.kind}/${obj.metadata.name}`);
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(obj, null, 1)};`);
  });
  // An .mts file next to the tests: ESM, so the import-only package exports resolve as in the tests.
  const fileName = path.join(repoRoot, 'test/k8s/__rendered-objects__.mts');
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) =>
    path.resolve(name) === fileName
      ? ts.createSourceFile(name, source, lang)
      : getSourceFile(name, lang, onError, create);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === fileName || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (path.resolve(name) === fileName ? source : readFile(name));
  const program = ts.createProgram([fileName], options, host);
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName && path.resolve(d.file.fileName) === fileName);
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file && d.start !== undefined) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      // Name the object: the nearest preceding "// Kind/name" comment.
      const srcLines = source.split('\n');
      let j = line;
      while (j >= 0 && !srcLines[j]!.startsWith('// ')) j--;
      return `${j >= 0 ? srcLines[j]!.slice(3) : '?'}: ${message.split('\n')[0]} (near: ${srcLines[line]!.trim()})`;
    }
    return message;
  });
}
