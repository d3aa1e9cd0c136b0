import { ServiceError } from '../../errors/error-codes.js';
import { formatShapes } from '../../queue/batch-shapes.js';
import type { FixedShape } from '../../config/config.js';
import type { RemoteModelConfig, RemoteModelMetadata, RemoteTensor } from './remote-client.js';

/** The token tensors the service can send, as Hugging Face exports name them. */
export const tokenInputs = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
export type TokenInput = (typeof tokenInputs)[number];
const requiredInputs: readonly TokenInput[] = ['input_ids', 'attention_mask'];
export const idDatatypes = ['INT64', 'INT32'] as const;
export const logitDatatypes = ['FP32', 'FP16'] as const;

/** The remote engine cannot serve this model from this server: start-up stops with a message naming both sides. */
export class RemoteEngineError extends ServiceError {
  constructor(message: string) {
    super('SENTIMENT_REMOTE_ENGINE', message);
  }
}

/** What the service expects of the remote model: read from MODEL_DIR and the batching settings. */
export interface ServiceSide {
  /** e.g. "MODEL_DIR /models/sst2-minilm-l6", named in every mismatch. */
  source: string;
  labels: readonly string[];
  maxBatchSize: number;
  batchShapes: readonly FixedShape[] | undefined;
}

/** How to talk to the remote model, once checked. */
export interface RemoteContract {
  inputs: { name: TokenInput; datatype: (typeof idDatatypes)[number] }[];
  output: { name: string; datatype: (typeof logitDatatypes)[number] };
  /** The model server's largest batch (Triton's max_batch_size), when it says. */
  maxBatchSize: number | undefined;
}

function describe(tensor: RemoteTensor): string {
  return `'${tensor.name}' ${tensor.datatype} [${tensor.shape.join(', ')}]`;
}

/**
 * Checks the model server's metadata (and Triton's config, when it has the extension) against what the service
 * will send and read: input names and dtypes, the label count, the largest batch, and fixed dimensions, which must
 * match BATCH_SHAPES. Every problem is collected, each naming the remote's side and the service's.
 */
export function checkRemoteModel(
  remote: { url: string; metadata: RemoteModelMetadata; config: RemoteModelConfig | undefined },
  service: ServiceSide,
): RemoteContract {
  const { metadata, config } = remote;
  const where = `the model '${metadata.name}' at ${remote.url}`;
  const problems: string[] = [];
  const inputs: RemoteContract['inputs'] = [];
  for (const input of metadata.inputs) {
    if (!(tokenInputs as readonly string[]).includes(input.name)) {
      problems.push(`${where} takes input ${describe(input)}; the service sends only ${tokenInputs.join(', ')}`);
    } else if (!(idDatatypes as readonly string[]).includes(input.datatype)) {
      problems.push(`${where} takes ${describe(input)}; the service sends token ids as INT64 (or INT32)`);
    } else {
      inputs.push({
        name: input.name as TokenInput,
        datatype: input.datatype as RemoteContract['inputs'][number]['datatype'],
      });
      problems.push(...shapeProblems(`${where} takes ${describe(input)}`, input.shape, config, service));
    }
  }
  for (const name of requiredInputs) {
    if (!metadata.inputs.some((input) => input.name === name)) {
      problems.push(
        `${where} has no input '${name}' (its inputs: ${metadata.inputs.map(describe).join(', ') || 'none'}); the service sends ${requiredInputs.join(' and ')}`,
      );
    }
  }

  const output =
    metadata.outputs.length === 1 ? metadata.outputs[0] : metadata.outputs.find((o) => o.name === 'logits');
  let contractOutput: RemoteContract['output'] | undefined;
  if (output === undefined) {
    problems.push(
      `${where} has outputs ${metadata.outputs.map(describe).join(', ') || 'none'}; the service reads one logits tensor (one output, or one named 'logits')`,
    );
  } else if (!(logitDatatypes as readonly string[]).includes(output.datatype)) {
    problems.push(`${where} answers ${describe(output)}; the service reads logits as FP32 or FP16`);
  } else {
    const labels = output.shape.at(-1);
    if (labels !== -1 && labels !== service.labels.length) {
      problems.push(
        `${where} answers ${describe(output)}, ${labels} logits per text; ${service.source} has ${service.labels.length} labels (${service.labels.join(', ')})`,
      );
    }
    contractOutput = { name: output.name, datatype: output.datatype as RemoteContract['output']['datatype'] };
  }

  const maxBatchSize = config !== undefined && config.maxBatchSize > 0 ? config.maxBatchSize : undefined;
  if (maxBatchSize !== undefined) {
    const asked =
      service.batchShapes === undefined
        ? service.maxBatchSize
        : Math.max(...service.batchShapes.map((shape) => shape.rows));
    if (asked > maxBatchSize) {
      problems.push(
        `${where} takes batches of at most ${maxBatchSize} (max_batch_size); the service sends up to ${asked} ` +
          `(${service.batchShapes === undefined ? 'MAX_BATCH_SIZE' : `BATCH_SHAPES=${formatShapes(service.batchShapes)}`}): lower it or raise max_batch_size`,
      );
    }
  }
  if (problems.length > 0 || contractOutput === undefined) {
    throw new RemoteEngineError(`ENGINE=remote cannot use ${where}:\n  ${problems.join('\n  ')}`);
  }
  return { inputs, output: contractOutput, maxBatchSize };
}

/**
 * A fixed dimension of the remote's inputs must be one every batch has: with Triton's batching (max_batch_size > 0)
 * the shape starts with -1 for the batch, else the first dimension is the batch. Fixed ones need BATCH_SHAPES.
 */
function shapeProblems(
  tensor: string,
  shape: readonly number[],
  config: RemoteModelConfig | undefined,
  service: ServiceSide,
): string[] {
  if (shape.length !== 2) return [`${tensor}; the service sends [batch, sequence]`];
  const [rows, columns] = shape as [number, number];
  const shapes = service.batchShapes;
  const problems: string[] = [];
  if (columns !== -1 && (shapes === undefined || shapes.some((s) => s.columns !== columns))) {
    problems.push(
      `${tensor}, a fixed sequence of ${columns} tokens; the service sends ` +
        (shapes === undefined
          ? 'batches padded to their longest text (set BATCH_SHAPES)'
          : `BATCH_SHAPES=${formatShapes(shapes)}`),
    );
  }
  const batched = config !== undefined && config.maxBatchSize > 0;
  if (!batched && rows !== -1 && (shapes === undefined || shapes.some((s) => s.rows !== rows))) {
    problems.push(
      `${tensor}, a fixed batch of ${rows}; the service sends ` +
        (shapes === undefined
          ? `batches of 1 to ${service.maxBatchSize} texts (set BATCH_SHAPES)`
          : `BATCH_SHAPES=${formatShapes(shapes)}`),
    );
  }
  return problems;
}
