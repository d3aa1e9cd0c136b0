import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import type { PaddedBatch } from '../packed-batch.js';
import type { SafetensorsFile } from '../../model/safetensors.js';
import type { Tf } from './tfjs-backends.js';
import { ServiceError } from '../../errors/error-codes.js';

/**
 * Encoder-only sequence classifiers in TensorFlow.js ops, with weights looked up by their Hugging Face names. Each
 * forward pass mirrors the PyTorch module it replaces op for op (training/bert_model.py for BERT; transformers'
 * modeling_roberta.py and modeling_distilbert.py for the others), so logits match the ONNX export to float32
 * rounding. The one liberty: the last layer computes only the rows the classification head reads.
 */

export type EncoderArchitecture = 'bert' | 'roberta' | 'distilbert';
type Activation = 'gelu' | 'gelu_tanh' | 'relu';

export interface EncoderConfig {
  architecture: EncoderArchitecture;
  vocabSize: number;
  hiddenSize: number;
  heads: number;
  layers: number;
  intermediateSize: number;
  maxPositions: number;
  /** 0 where the architecture has no segment embeddings (DistilBERT). */
  typeVocabSize: number;
  activation: Activation;
  layerNormEps: number;
  /** RoBERTa numbers positions after padding_idx (= pad_token_id); the others from 0. */
  padTokenId: number;
  numLabels: number;
}

export class EncoderConfigError extends ServiceError {
  constructor(path: string, problem: string) {
    super('SENTIMENT_ENCODER_CONFIG', `${path}: ${problem}`);
  }
}

const architectureOf: Record<string, EncoderArchitecture> = {
  bert: 'bert',
  roberta: 'roberta',
  'xlm-roberta': 'roberta',
  camembert: 'roberta',
  distilbert: 'distilbert',
};

const activationOf: Record<string, Activation> = {
  gelu: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  relu: 'relu',
};

/** Reads the architecture's hyper-parameters from config.json, refusing what the tfjs engine does not implement. */
export function encoderConfigOf(config: Record<string, unknown>, numLabels: number, path: string): EncoderConfig {
  const modelType = String(config.model_type ?? '');
  const architecture = architectureOf[modelType];
  if (architecture === undefined) {
    throw new EncoderConfigError(
      path,
      `model_type "${modelType}" is not supported by ENGINE=tfjs (supported: ${Object.keys(architectureOf).join(', ')}); use ENGINE=onnx`,
    );
  }
  const integer = (key: string, fallback?: number): number => {
    const value = config[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new EncoderConfigError(path, `${key} must be a non-negative integer for model_type "${modelType}"`);
    }
    return value;
  };
  const activationName = String(config[architecture === 'distilbert' ? 'activation' : 'hidden_act'] ?? 'gelu');
  const activation = activationOf[activationName];
  if (activation === undefined) {
    throw new EncoderConfigError(
      path,
      `activation "${activationName}" is not supported by ENGINE=tfjs (supported: ${Object.keys(activationOf).join(', ')})`,
    );
  }
  const positionType = config.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute') {
    throw new EncoderConfigError(
      path,
      `position_embedding_type "${String(positionType)}" is not supported by ENGINE=tfjs (only absolute)`,
    );
  }

  const encoder: EncoderConfig =
    architecture === 'distilbert'
      ? {
          architecture,
          vocabSize: integer('vocab_size'),
          hiddenSize: integer('dim'),
          heads: integer('n_heads'),
          layers: integer('n_layers'),
          intermediateSize: integer('hidden_dim'),
          maxPositions: integer('max_position_embeddings'),
          typeVocabSize: 0,
          activation,
          layerNormEps: 1e-12, // fixed in modeling_distilbert.py
          padTokenId: integer('pad_token_id', 0),
          numLabels,
        }
      : {
          architecture,
          vocabSize: integer('vocab_size'),
          hiddenSize: integer('hidden_size'),
          heads: integer('num_attention_heads'),
          layers: integer('num_hidden_layers'),
          intermediateSize: integer('intermediate_size'),
          maxPositions: integer('max_position_embeddings'),
          typeVocabSize: integer('type_vocab_size', 2),
          activation,
          layerNormEps: typeof config.layer_norm_eps === 'number' ? config.layer_norm_eps : 1e-12,
          padTokenId: integer('pad_token_id', architecture === 'roberta' ? 1 : 0),
          numLabels,
        };
  if (encoder.heads === 0 || encoder.hiddenSize % encoder.heads !== 0) {
    throw new EncoderConfigError(
      path,
      `hidden size ${encoder.hiddenSize} is not divisible by ${encoder.heads} attention heads`,
    );
  }
  return encoder;
}

interface Dense {
  /** [in, out]: the transpose of PyTorch's Linear.weight, so a batch of rows multiplies it directly. */
  kernel: Tensor2D;
  bias: Tensor1D;
}

interface Norm {
  gamma: Tensor1D;
  beta: Tensor1D;
}

interface Layer {
  query: Dense;
  key: Dense;
  value: Dense;
  attentionOutput: Dense;
  attentionNorm: Norm;
  intermediate: Dense;
  output: Dense;
  outputNorm: Norm;
}

/** The classification head: dense layers on the first token's state, then the classifier. */
interface HeadStep {
  dense: Dense;
  activation: 'tanh' | 'relu' | 'none';
}

/** The Hugging Face names of one architecture's tensors. */
interface Names {
  words: string;
  positions: string;
  types: string | undefined;
  embeddingNorm: string;
  layer(i: number): Record<keyof Layer, string>;
  head: { name: string; activation: HeadStep['activation'] }[];
}

function namesOf(architecture: EncoderArchitecture): Names {
  if (architecture === 'distilbert') {
    return {
      words: 'distilbert.embeddings.word_embeddings',
      positions: 'distilbert.embeddings.position_embeddings',
      types: undefined,
      embeddingNorm: 'distilbert.embeddings.LayerNorm',
      layer: (i) => {
        const p = `distilbert.transformer.layer.${i}`;
        return {
          query: `${p}.attention.q_lin`,
          key: `${p}.attention.k_lin`,
          value: `${p}.attention.v_lin`,
          attentionOutput: `${p}.attention.out_lin`,
          attentionNorm: `${p}.sa_layer_norm`,
          intermediate: `${p}.ffn.lin1`,
          output: `${p}.ffn.lin2`,
          outputNorm: `${p}.output_layer_norm`,
        };
      },
      head: [
        { name: 'pre_classifier', activation: 'relu' },
        { name: 'classifier', activation: 'none' },
      ],
    };
  }
  const base = architecture; // "bert." or "roberta." prefixes the encoder
  return {
    words: `${base}.embeddings.word_embeddings`,
    positions: `${base}.embeddings.position_embeddings`,
    types: `${base}.embeddings.token_type_embeddings`,
    embeddingNorm: `${base}.embeddings.LayerNorm`,
    layer: (i) => {
      const p = `${base}.encoder.layer.${i}`;
      return {
        query: `${p}.attention.self.query`,
        key: `${p}.attention.self.key`,
        value: `${p}.attention.self.value`,
        attentionOutput: `${p}.attention.output.dense`,
        attentionNorm: `${p}.attention.output.LayerNorm`,
        intermediate: `${p}.intermediate.dense`,
        output: `${p}.output.dense`,
        outputNorm: `${p}.output.LayerNorm`,
      };
    },
    head:
      architecture === 'bert'
        ? [
            { name: 'bert.pooler.dense', activation: 'tanh' },
            { name: 'classifier', activation: 'none' },
          ]
        : [
            { name: 'classifier.dense', activation: 'tanh' },
            { name: 'classifier.out_proj', activation: 'none' },
          ],
  };
}

/**
 * The constants of the forward pass as tensors made once: a plain number would become a new scalar tensor on every
 * op, and at batch size 1 such per-op costs are much of the time.
 */
interface Scalars {
  half: Tensor;
  one: Tensor;
  rsqrt2: Tensor;
  eps: Tensor;
  sqrtHeadSize: Tensor;
  sqrt2OverPi: Tensor;
  geluCubic: Tensor;
  three: Tensor;
}

/** One padded batch, as flat row-major [rows × columns] arrays. */
export interface EncoderInput {
  rows: number;
  columns: number;
  ids: Int32Array;
  typeIds: Int32Array;
  positionIds: Int32Array;
  /** 0 for a real token, -10000 for padding: added to attention scores, as the exported ONNX graph does. */
  additiveMask: Float32Array;
}

/** Masked-out keys get this added to their scores: exp() of it underflows to 0 in float32, as -inf would. */
export const maskedScore = -10000;

/** A sequence-classification encoder whose weights live on a TensorFlow.js backend. */
export class Encoder {
  private constructor(
    private readonly tf: Tf,
    readonly config: EncoderConfig,
    private readonly words: Tensor2D,
    private readonly positions: Tensor2D,
    private readonly types: Tensor2D | undefined,
    private readonly embeddingNorm: Norm,
    private readonly layers: readonly Layer[],
    private readonly head: readonly HeadStep[],
    private readonly scalars: Scalars,
    private readonly owned: readonly Tensor[],
  ) {}

  /** Uploads the weights the architecture names; an error names the missing or misshapen tensor. */
  static load(tf: Tf, config: EncoderConfig, weights: SafetensorsFile): Encoder {
    const owned: Tensor[] = [];
    const { hiddenSize: h, intermediateSize: inner } = config;
    const fetch = (name: string, shape: number[]) => {
      const tensor = weights.get(name);
      if (tensor.shape.join() !== shape.join()) {
        throw new EncoderConfigError(
          weights.path,
          `tensor "${name}" has shape [${tensor.shape.join(', ')}]; config.json implies [${shape.join(', ')}]`,
        );
      }
      return tensor.data;
    };
    const matrix = (name: string, shape: [number, number]): Tensor2D => {
      const t = tf.tensor2d(fetch(name, shape), shape);
      owned.push(t);
      return t;
    };
    const vector = (name: string, size: number): Tensor1D => {
      const t = tf.tensor1d(fetch(name, [size]));
      owned.push(t);
      return t;
    };
    const dense = (name: string, inputs: number, outputs: number): Dense => {
      const weight = fetch(`${name}.weight`, [outputs, inputs]);
      const kernel = new Float32Array(inputs * outputs);
      for (let o = 0; o < outputs; o++) {
        for (let i = 0; i < inputs; i++) kernel[i * outputs + o] = weight[o * inputs + i] as number;
      }
      const t = tf.tensor2d(kernel, [inputs, outputs]);
      owned.push(t);
      return { kernel: t, bias: vector(`${name}.bias`, outputs) };
    };
    // Older checkpoints name LayerNorm parameters gamma/beta; transformers renames them on load, and so do we.
    const norm = (name: string): Norm =>
      weights.has(`${name}.weight`) || !weights.has(`${name}.gamma`)
        ? { gamma: vector(`${name}.weight`, h), beta: vector(`${name}.bias`, h) }
        : { gamma: vector(`${name}.gamma`, h), beta: vector(`${name}.beta`, h) };

    try {
      const names = namesOf(config.architecture);
      const words = matrix(`${names.words}.weight`, [config.vocabSize, h]);
      const positions = matrix(`${names.positions}.weight`, [config.maxPositions, h]);
      const types = names.types === undefined ? undefined : matrix(`${names.types}.weight`, [config.typeVocabSize, h]);
      const embeddingNorm = norm(names.embeddingNorm);
      const layers: Layer[] = [];
      for (let i = 0; i < config.layers; i++) {
        const n = names.layer(i);
        layers.push({
          query: dense(n.query, h, h),
          key: dense(n.key, h, h),
          value: dense(n.value, h, h),
          attentionOutput: dense(n.attentionOutput, h, h),
          attentionNorm: norm(n.attentionNorm),
          intermediate: dense(n.intermediate, h, inner),
          output: dense(n.output, inner, h),
          outputNorm: norm(n.outputNorm),
        });
      }
      const head = names.head.map((step, i) => ({
        dense: dense(step.name, h, i === names.head.length - 1 ? config.numLabels : h),
        activation: step.activation,
      }));
      const scalar = (value: number): Tensor => {
        const t = tf.scalar(value);
        owned.push(t);
        return t;
      };
      const scalars: Scalars = {
        half: scalar(0.5),
        one: scalar(1),
        rsqrt2: scalar(Math.SQRT1_2),
        eps: scalar(config.layerNormEps),
        sqrtHeadSize: scalar(Math.sqrt(h / config.heads)),
        sqrt2OverPi: scalar(Math.sqrt(2 / Math.PI)),
        geluCubic: scalar(0.044715),
        three: scalar(3),
      };
      return new Encoder(tf, config, words, positions, types, embeddingNorm, layers, head, scalars, owned);
    } catch (error) {
      for (const t of owned) t.dispose();
      throw error;
    }
  }

  /** Logits [rows × numLabels]; every intermediate tensor is freed before this returns. */
  logits(input: EncoderInput): Tensor2D {
    const { tf } = this;
    return tf.tidy(() => {
      const { rows, columns } = input;
      let x = this.embed(input, rows * columns);
      const mask = tf.tensor4d(input.additiveMask, [rows, 1, 1, columns]);
      // The head reads only the first token's state ([CLS] / <s>) of each row. Every op after attention works row by
      // row, so the last layer computes just those rows: its queries, attention output and feed-forward for `rows`
      // tokens instead of rows × columns (its keys and values still come from every token). Same numbers, less work.
      const firsts = tf.tensor1d(
        Int32Array.from({ length: rows }, (_, row) => row * columns),
        'int32',
      );
      this.layers.forEach((layer, i) => {
        x = this.layer(x, layer, mask, rows, columns, i === this.layers.length - 1 ? firsts : undefined);
      });
      let y = this.layers.length === 0 ? tf.gather(x, firsts) : x;
      for (const step of this.head) {
        y = this.dense(y, step.dense);
        if (step.activation === 'tanh') y = tf.tanh(y);
        else if (step.activation === 'relu') y = tf.relu(y);
      }
      return y;
    });
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
  }

  /** [rows·columns × hidden]: word + position (+ segment) embeddings, then LayerNorm. */
  private embed(input: EncoderInput, n: number): Tensor2D {
    const { tf } = this;
    const words = tf.gather(this.words, tf.tensor1d(input.ids, 'int32'));
    const positions = tf.gather(this.positions, tf.tensor1d(input.positionIds, 'int32'));
    const types = this.types === undefined ? undefined : tf.gather(this.types, tf.tensor1d(input.typeIds, 'int32'));
    // Summed in each reference's order (float addition is not associative): ours word + position + segment,
    // transformers' RoBERTa word + segment + position.
    let x: Tensor;
    if (types === undefined) x = tf.add(words, positions);
    else if (this.config.architecture === 'roberta') x = tf.add(tf.add(words, types), positions);
    else x = tf.add(tf.add(words, positions), types);
    return this.layerNorm(tf.reshape(x, [n, this.config.hiddenSize]), this.embeddingNorm);
  }

  /**
   * One encoder layer over [rows·columns × hidden]. With `only`, the indices of some of those rows, it returns just
   * their states ([only.length × hidden]), still attending over every token of their row.
   */
  private layer(x: Tensor2D, layer: Layer, mask: Tensor, rows: number, columns: number, only?: Tensor1D): Tensor2D {
    const { tf } = this;
    const residual = only === undefined ? x : tf.gather(x, only);
    const context = this.attend(x, residual, layer, mask, rows, columns);
    const attention = this.layerNorm(
      tf.add<Tensor2D>(this.dense(context, layer.attentionOutput), residual),
      layer.attentionNorm,
    );
    const hidden = this.activate(this.dense(attention, layer.intermediate));
    return this.layerNorm(tf.add<Tensor2D>(this.dense(hidden, layer.output), attention), layer.outputNorm);
  }

  /** Self-attention of the tokens in `queries` (all of x, or one per row) over every token of x in their row. */
  private attend(x: Tensor2D, queries: Tensor2D, layer: Layer, mask: Tensor, rows: number, columns: number): Tensor2D {
    const { tf } = this;
    const { heads, hiddenSize } = this.config;
    const headSize = hiddenSize / heads;
    const perRow = queries.shape[0] / rows;
    // [rows·n × hidden] -> [rows × heads × n × headSize]
    const split = (t: Tensor2D, n: number) => tf.transpose(tf.reshape(t, [rows, n, heads, headSize]), [0, 2, 1, 3]);
    let query = split(this.dense(queries, layer.query), perRow);
    const key = split(this.dense(x, layer.key), columns);
    let scores: Tensor;
    if (this.config.architecture === 'distilbert') {
      // DistilBERT scales the query before the product; BERT and RoBERTa scale the scores after it.
      query = tf.div(query, this.scalars.sqrtHeadSize);
      scores = tf.matMul(query, key, false, true);
    } else {
      scores = tf.div(tf.matMul(query, key, false, true), this.scalars.sqrtHeadSize);
    }
    const probabilities = tf.softmax(tf.add(scores, mask));
    const weighted = tf.matMul(probabilities, split(this.dense(x, layer.value), columns));
    const context = tf.transpose(weighted, [0, 2, 1, 3]);
    return tf.reshape(context, [rows * perRow, hiddenSize]);
  }

  private dense(x: Tensor2D, d: Dense): Tensor2D {
    return this.tf.fused.matMul({ a: x, b: d.kernel, bias: d.bias }) as Tensor2D;
  }

  private layerNorm(x: Tensor2D, n: Norm): Tensor2D {
    const { tf } = this;
    // As torch.nn.LayerNorm: biased variance, (x - mean) / sqrt(variance + eps) · γ + β.
    const centered = tf.sub(x, tf.mean(x, -1, true));
    const variance = tf.mean(tf.square(centered), -1, true);
    const normalized = tf.div(centered, tf.sqrt(tf.add(variance, this.scalars.eps)));
    return tf.add(tf.mul(normalized, n.gamma), n.beta);
  }

  private activate(x: Tensor2D): Tensor2D {
    const { tf } = this;
    switch (this.config.activation) {
      case 'relu':
        return tf.relu(x);
      case 'gelu':
        // Exact GELU, as torch.nn.functional.gelu: x·½·(1 + erf(x/√2)).
        return tf.mul<Tensor2D>(
          tf.mul(x, this.scalars.half),
          tf.add(this.scalars.one, tf.erf(tf.mul(x, this.scalars.rsqrt2))),
        );
      case 'gelu_tanh':
        // ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as transformers' NewGELUActivation.
        return tf.mul<Tensor2D>(
          tf.mul(x, this.scalars.half),
          tf.add(
            this.scalars.one,
            tf.tanh(
              tf.mul(
                this.scalars.sqrt2OverPi,
                tf.add(x, tf.mul(this.scalars.geluCubic, tf.pow(x, this.scalars.three))),
              ),
            ),
          ),
        );
    }
  }
}

/**
 * The encoder's inputs from a padded batch (padBatch): position ids and the additive attention mask. Position ids
 * follow the architecture: 0, 1, 2… for BERT and DistilBERT; for RoBERTa, padding_idx + 1, + 2… over the non-pad
 * tokens and padding_idx on padding, as transformers' create_position_ids_from_input_ids does.
 */
export function encoderInputOf(
  padded: PaddedBatch,
  config: Pick<EncoderConfig, 'architecture' | 'padTokenId'>,
): EncoderInput {
  const { rows, columns, ids, typeIds, attentionMask } = padded;
  const positionIds = new Int32Array(rows * columns);
  const additiveMask = new Float32Array(rows * columns).fill(maskedScore);
  const roberta = config.architecture === 'roberta';
  for (let row = 0; row < rows; row++) {
    const start = row * columns;
    let position = config.padTokenId;
    for (let column = 0; column < columns; column++) {
      const index = start + column;
      const real = attentionMask[index] === 1;
      if (real) {
        additiveMask[index] = 0;
        if (roberta && ids[index] !== config.padTokenId) position += 1;
      }
      positionIds[index] = roberta ? (real && ids[index] !== config.padTokenId ? position : config.padTokenId) : column;
    }
  }
  return { rows, columns, ids, typeIds, positionIds, additiveMask };
}
