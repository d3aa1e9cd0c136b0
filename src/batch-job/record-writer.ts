import type { Prediction } from '../inference/postprocess.js';
import { cellOf, csvLine } from './csv-format.js';
import { delimiterOf, type RecordFormat } from './formats.js';
import type { FieldNames } from './input-records.js';
import { ServiceError } from '../errors/error-codes.js';

/** A problem that stops the job before anything is written, such as an output that does not match on resume. */
export class OutputMismatchError extends ServiceError {
  constructor(message: string) {
    super('SENTIMENT_OUTPUT_MISMATCH', message);
  }
}

/** Turns input records and their predictions into output text. */
export interface RecordWriter {
  /**
   * Called for every valid input record in order, before it is scored (also for records a resumed run skips):
   * why the record cannot be written in this format, or undefined. Returns the header to write first, once.
   */
  admit(fields: Record<string, unknown>): { refusal?: string; header?: string };
  /** The record's output line(s), with the result fields added. */
  format(fields: Record<string, unknown>, prediction: Prediction): string;
}

class JsonlWriter implements RecordWriter {
  constructor(private readonly names: FieldNames) {}

  admit(): { refusal?: string; header?: string } {
    return {};
  }

  format(fields: Record<string, unknown>, prediction: Prediction): string {
    // The record is ours now: adding the results in place keeps the input's fields first, in their order.
    fields[this.names.label] = prediction.label;
    fields[this.names.score] = prediction.score;
    return JSON.stringify(fields) + '\n';
  }
}

/**
 * CSV/TSV: the columns are the first record's fields (for CSV/TSV input, its header) plus the result columns.
 * A later record with a field outside them is refused, not written with the field dropped.
 */
class DelimitedWriter implements RecordWriter {
  private columns: string[] | undefined;
  private readonly delimiter: string;

  constructor(
    format: 'csv' | 'tsv',
    private readonly names: FieldNames,
    /** The header of the output being resumed, which this input must reproduce. */
    private readonly existingHeader: readonly string[] | undefined,
  ) {
    this.delimiter = delimiterOf(format);
  }

  admit(fields: Record<string, unknown>): { refusal?: string; header?: string } {
    if (this.columns === undefined) {
      this.columns = Object.keys(fields);
      const header = [...this.columns, this.names.label, this.names.score];
      if (this.existingHeader !== undefined && this.existingHeader.join('\u0000') !== header.join('\u0000')) {
        throw new OutputMismatchError(
          `the output's header (${this.existingHeader.join(', ')}) is not the one this input and these options ` +
            `produce (${header.join(', ')}); not resuming`,
        );
      }
      return { header: csvLine(header, this.delimiter) };
    }
    for (const key of Object.keys(fields)) {
      if (!this.columns.includes(key)) {
        return {
          refusal: `has field "${key}", which is not among the output columns (taken from the first record: ${this.columns.join(', ')})`,
        };
      }
    }
    return {};
  }

  format(fields: Record<string, unknown>, prediction: Prediction): string {
    const columns = this.columns ?? [];
    const values = columns.map((column) => cellOf(fields[column]));
    values.push(prediction.label, String(prediction.score));
    return csvLine(values, this.delimiter);
  }
}

export function createRecordWriter(
  format: RecordFormat,
  names: FieldNames,
  existingHeader: readonly string[] | undefined,
): RecordWriter {
  return format === 'jsonl' ? new JsonlWriter(names) : new DelimitedWriter(format, names, existingHeader);
}
