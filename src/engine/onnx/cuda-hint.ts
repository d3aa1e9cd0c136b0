import { nvidiaGpuVisible } from '../gpu-device.js';

/**
 * Why the CUDA execution provider may have failed, for the start-up error: ONNX Runtime's own message only says
 * "Failed to load shared library" when the missing piece is the driver's libcuda.so.1, which no image ships (the
 * host's driver provides it, mounted by the NVIDIA container toolkit along with the /dev/nvidia* devices).
 */
export function cudaFailureHint(gpuVisible: boolean = nvidiaGpuVisible()): string {
  if (gpuVisible) return '';
  return (
    '. No NVIDIA GPU or driver is visible to this process (no /dev/nvidia<N> device, or CUDA_VISIBLE_DEVICES hides ' +
    "them), so the driver's libcuda.so.1 is missing: run the container with the GPU (docker run --gpus all; " +
    'Kubernetes: request nvidia.com/gpu on a node with the NVIDIA device plugin), or use DEVICE=cpu'
  );
}
