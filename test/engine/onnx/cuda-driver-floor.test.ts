// The NVIDIA driver floor check at DEVICE=cuda start-up, on /proc/driver/nvidia/version texts as the proprietary and
// the open kernel modules write them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cudaDriverFloor, cudaDriverTooOld, nvidiaDriverVersion } from '../../../src/engine/onnx/cuda-driver-floor.js';

const proprietary570 =
  'NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.172.08  Tue Jul  8 17:39:37 UTC 2025\n' +
  'GCC version:  gcc version 11.4.1 20230605 (Red Hat 11.4.1-2) (GCC)\n';
const open580 =
  'NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.95.05  Release Build  (dvs-builder@U16-I3-B03-4-3)  ' +
  'Thu Sep 25 19:21:41 UTC 2025\nGCC version:  gcc version 14.2.1 20250110 (Red Hat 14.2.1-7) (GCC)\n';
const twoPart535 = 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.261  Mon Aug  4 2025\n';

describe('nvidiaDriverVersion', () => {
  it('reads the version of the proprietary and of the open kernel module', () => {
    assert.deepEqual(nvidiaDriverVersion(proprietary570), { version: '570.172.08', branch: 570 });
    assert.deepEqual(nvidiaDriverVersion(open580), { version: '580.95.05', branch: 580 });
    assert.deepEqual(nvidiaDriverVersion(twoPart535), { version: '535.261', branch: 535 });
  });

  it('finds none in text without an NVRM line (the architecture x86_64 is not a version)', () => {
    assert.equal(nvidiaDriverVersion(''), undefined);
    assert.equal(nvidiaDriverVersion('GCC version:  gcc version 11.4.1 20230605\n'), undefined);
    assert.equal(nvidiaDriverVersion('NVRM version: NVIDIA UNIX x86_64 Kernel Module\n'), undefined);
  });
});

describe('cudaDriverTooOld', () => {
  it('names the driver, the floor, the CUDA line and the way out, in one line, when the driver is too old', () => {
    const message = cudaDriverTooOld(() => proprietary570);
    assert.ok(message);
    assert.doesNotMatch(message, /\n/);
    assert.match(message, /^DEVICE=cuda: the NVIDIA driver is 570\.172\.08, older than R580/);
    assert.ok(message.includes(`CUDA ${cudaDriverFloor.cuda}`));
    assert.match(message, /DEVICE=cpu/);
    assert.ok(cudaDriverTooOld(() => twoPart535));
  });

  it('passes the floor itself and anything newer', () => {
    assert.equal(
      cudaDriverTooOld(() => open580),
      undefined,
    );
    assert.equal(
      cudaDriverTooOld(() => proprietary570.replace('570.172.08', '590.44.01')),
      undefined,
    );
  });

  it('leaves no driver, an unreadable file or an unknown format to ONNX Runtime', () => {
    assert.equal(
      cudaDriverTooOld(() => {
        throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      }),
      undefined,
    );
    assert.equal(
      cudaDriverTooOld(() => 'something else entirely'),
      undefined,
    );
  });
});
