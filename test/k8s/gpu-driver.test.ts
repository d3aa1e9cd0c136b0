// The GPU driver floor, from the nodes up: the GPU image's CUDA libraries need the driver branch of
// src/engine/onnx/cuda-driver-floor.ts, so the GPU nodes' AMI must be a release that ships it, the README's pins and
// checklist must say so, and no node class floats on @latest.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cudaDriverFloor } from '../../src/engine/onnx/cuda-driver-floor.js';
import { findAll, findOne, kubectlSkipReason, render, repoRoot } from './kustomize.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

/**
 * The first EKS AL2023 release whose NVIDIA AMIs ship each driver branch for every Kubernetes version (AWS's AMI
 * release notes: R570 up to v20251016, R580 from v20251120). A newer floor needs its release added here.
 */
const firstAl2023NvidiaRelease: Record<number, string> = { 580: '20251120' };
const pin = /^al2023@v(\d{8})$/;

describe('GPU driver floor: node AMIs and the README', { skip: kubectlSkipReason() }, () => {
  const readme = readFileSync(path.join(repoRoot, 'k8s/README.md'), 'utf8');
  const floorRelease = firstAl2023NvidiaRelease[cudaDriverFloor.driverBranch];

  it('knows the first AMI release of the driver floor', () => {
    assert.ok(floorRelease, `no AL2023 release listed for R${cudaDriverFloor.driverBranch}`);
  });

  it(`the GPU node class is pinned to an AL2023 release that ships R${cudaDriverFloor.driverBranch} or newer`, () => {
    const nodeClass = findOne(render('platform/karpenter/gpu'), 'EC2NodeClass', 'sentiment-gpu');
    const terms: Any[] = nodeClass.spec.amiSelectorTerms;
    assert.ok(terms.length > 0);
    for (const term of terms) {
      const release = pin.exec(term.alias ?? '')?.[1];
      assert.ok(release, `${term.alias ?? JSON.stringify(term)}: a pinned al2023@vYYYYMMDD alias, not @latest`);
      assert.ok(release >= floorRelease!, `al2023@v${release} predates v${floorRelease}, the first with R580`);
    }
  });

  it('no node class floats on @latest', () => {
    for (const target of ['platform/karpenter/gpu', 'platform/karpenter/inferentia'] as const)
      for (const nodeClass of findAll(render(target), 'EC2NodeClass'))
        for (const term of nodeClass.spec.amiSelectorTerms as Any[])
          assert.match(term.alias ?? '', pin, `${nodeClass.metadata.name}: ${term.alias}`);
  });

  it("every AMI pin the README shows is a release with the floor's driver, the shipped one among them", () => {
    const shown = [...readme.matchAll(/al2023@v(\d{8})/g)].map((m) => m[1]!);
    assert.ok(shown.length > 0);
    for (const release of shown) assert.ok(release >= floorRelease!, `k8s/README.md shows al2023@v${release}`);
    const shipped = pin.exec(
      findOne(render('platform/karpenter/gpu'), 'EC2NodeClass', 'sentiment-gpu').spec.amiSelectorTerms[0].alias,
    )?.[1];
    assert.ok(shown.includes(shipped!), 'the README names the pin the node class ships');
  });

  it('the GPU checklist names what fails first on an old driver, and the server line after it', () => {
    assert.ok(readme.includes('CreateContainerError'));
    assert.ok(readme.includes(`unsatisfied condition: cuda>=${cudaDriverFloor.cuda}`));
    assert.ok(readme.includes(`older than R${cudaDriverFloor.driverBranch}`));
    assert.doesNotMatch(readme, /fails the start with ONNX Runtime's CUDA error/);
  });
});
