// Deploy by digest: k8s/components/image takes a digest beside the tag (what `kustomize edit set image
// name=registry/name:tag@sha256:...` writes), the rendered pods then name the image by digest, and a real registry is
// only accepted with one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageComponentEntries, renderedImage } from './image-pins.js';
import { kubectlSkipReason, renderDir } from './kustomize.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

const digest = /^sha256:[0-9a-f]{64}$/;
/** The registries of this repository's examples, which no cluster pulls from. */
const exampleRegistry = /^registry\.example\.com\//;

describe('images by digest (k8s/components/image)', () => {
  it('every image has a registry and a version tag (never latest); a digest, where given, is a sha256', () => {
    const entries = imageComponentEntries();
    assert.deepEqual(entries.map((e) => e.name).sort(), [
      'sentiment-inference',
      'sentiment-inference-cuda',
      'sentiment-triton',
      'sentiment-triton-cuda',
      'sentiment-triton-neuron',
    ]);
    for (const e of entries) {
      assert.match(e.newName, /^[\w.-]+(:\d+)?\/[\w./-]+$/, `${e.name}: registry/repository`);
      assert.ok(e.newTag && e.newTag !== 'latest', `${e.name}: a version tag`);
      if (e.digest !== undefined) assert.match(e.digest, digest, `${e.name}: digest`);
    }
  });

  it('a real registry is pinned by digest: only the example registry may go without one', () => {
    for (const e of imageComponentEntries())
      assert.ok(e.digest || exampleRegistry.test(e.newName), `${e.name}: ${e.newName} needs a digest`);
  });

  it('renders name:tag@digest into every container when a digest is set (fixture digest-pinned)', {
    skip: kubectlSkipReason(),
  }, () => {
    const images = renderDir('test/k8s/fixtures/digest-pinned').flatMap((o) => {
      const spec = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec?.template?.spec;
      return spec ? [...(spec.initContainers ?? []), ...spec.containers].map((c: Any) => c.image as string) : [];
    });
    assert.ok(images.length >= 3, 'the gpu server, the Job and the CronJob');
    assert.ok(images.some((i) => i.includes('-cuda:')) && images.some((i) => !i.includes('-cuda')), 'both images');
    for (const image of images)
      assert.match(image, /^[\w.-]+\/sentiment-inference(-cuda)?:0\.1\.0@sha256:[0-9a-f]{64}$/);
  });

  it('what kustomize renders for an entry is what the manifest tests expect', () => {
    const base = { name: 'x', newName: 'r.example/x' };
    assert.equal(renderedImage({ ...base, newTag: '1' }), 'r.example/x:1');
    assert.equal(
      renderedImage({ ...base, digest: `sha256:${'a'.repeat(64)}` }),
      `r.example/x@sha256:${'a'.repeat(64)}`,
    );
    assert.equal(renderedImage({ ...base, newTag: '1', digest: 'sha256:b' }), 'r.example/x:1@sha256:b');
  });
});
