import type { Classifier } from '../inference/classifier.js';
import { Inference, type InferenceLimits } from '../inference/inference.js';

/**
 * The server's inference call for a batch job, without the server-only settings: no REQUEST_TIMEOUT_MS (a record
 * waits as long as the job runs) and no ADMISSION_WAIT_MS (the job's window, not a wait, keeps the queue from
 * overflowing).
 */
export function batchJobInference(
  classifier: Classifier,
  limits: Pick<InferenceLimits, 'maxTextsPerRequest' | 'maxQueue'>,
): Inference {
  return new Inference(classifier, {
    maxTextsPerRequest: limits.maxTextsPerRequest,
    maxQueue: limits.maxQueue,
    admissionWaitMs: 0,
  });
}
