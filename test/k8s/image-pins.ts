// The image settings of k8s/components/image (the one place registry, tag and digest are set), and the image
// reference kustomize renders from each.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './kustomize.js';

export interface ImageEntry {
  name: string;
  newName: string;
  newTag?: string;
  digest?: string;
}

export function imageComponentEntries(): ImageEntry[] {
  const file = path.join(repoRoot, 'k8s/components/image/kustomization.yaml');
  return (parse(readFileSync(file, 'utf8')) as { images: ImageEntry[] }).images;
}

/** What kustomize writes for an entry: name:tag, name@digest, or name:tag@digest (the digest then decides). */
export function renderedImage(entry: ImageEntry): string {
  return `${entry.newName}${entry.newTag ? `:${entry.newTag}` : ''}${entry.digest ? `@${entry.digest}` : ''}`;
}
