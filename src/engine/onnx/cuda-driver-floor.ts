import { readFileSync } from 'node:fs';

/**
 * The CUDA line of the GPU image's libraries (scripts/gpu-wheels.txt: onnxruntime-gpu of onnxruntime-node's version is
 * built for CUDA 13; Dockerfile.gpu's NVIDIA_REQUIRE_CUDA) and the oldest NVIDIA driver branch that runs it. The one
 * statement of the floor: the image test, the manifests' AMI pin and the start-up check below are held to it.
 */
export const cudaDriverFloor = { cuda: '13.0', driverBranch: 580 } as const;

/** Where the loaded NVIDIA kernel module states its version (procfs: there wherever the driver is loaded). */
export const nvidiaVersionFile = '/proc/driver/nvidia/version';

/**
 * The driver version in /proc/driver/nvidia/version, e.g. "NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.172.08
 * ..." or "... Open Kernel Module for x86_64  580.95.05 ..."; undefined when the text holds none.
 */
export function nvidiaDriverVersion(procText: string): { version: string; branch: number } | undefined {
  const match = /^NVRM version:.*?\s(\d{3,})\.(\d+)(?:\.(\d+))?\s/m.exec(procText);
  if (!match) return undefined;
  return { version: match.slice(1).filter(Boolean).join('.'), branch: Number(match[1]) };
}

/**
 * Why DEVICE=cuda cannot work on this driver, when the loaded driver is older than the floor (ONNX Runtime would
 * fail later with a CUDA error code that does not name the driver); undefined otherwise. No driver file, or one that
 * cannot be read, is left to ONNX Runtime and cudaFailureHint (no GPU visible). The image's NVIDIA_REQUIRE_CUDA
 * normally stops an old driver before the process starts, but not where the container toolkit skips that check (CDI
 * mode, NVIDIA_DISABLE_REQUIRE) nor outside a container.
 */
export function cudaDriverTooOld(
  readVersionFile: () => string = () => readFileSync(nvidiaVersionFile, 'utf8'),
): string | undefined {
  let text: string;
  try {
    text = readVersionFile();
  } catch {
    return undefined;
  }
  const driver = nvidiaDriverVersion(text);
  if (!driver || driver.branch >= cudaDriverFloor.driverBranch) return undefined;
  return (
    `DEVICE=cuda: the NVIDIA driver is ${driver.version}, older than R${cudaDriverFloor.driverBranch}, the oldest ` +
    `that runs CUDA ${cudaDriverFloor.cuda} (the CUDA libraries the GPU provider is built for): update the node's ` +
    `driver (k8s/README.md "GPU nodes" names an AMI that ships R${cudaDriverFloor.driverBranch}), or use DEVICE=cpu`
  );
}
