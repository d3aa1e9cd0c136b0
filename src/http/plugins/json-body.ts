import { errorCodes, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import secureJson from 'secure-json-parse';
import { ServiceError } from '../../errors/error-codes.js';

/** A body the server will not read as sent: the status says why (415 charset, 400 prototype keys). */
export class BodyRefusedError extends ServiceError {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super('SENTIMENT_BODY_REFUSED', message);
  }
}

const utf8 = /^utf-?8$/i;

/** The charset parameter of a Content-Type header, if any (quotes removed). */
export function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(contentType ?? '');
  return match?.[2];
}

/**
 * JSON bodies as Fastify reads them (Buffers, BODY_LIMIT_BYTES, secure-json-parse), with clearer refusals: a
 * charset other than UTF-8 is a 415 (the bytes would otherwise be read as UTF-8 and mangled), and the keys
 * `__proto__` and `constructor.prototype` are named as such rather than called invalid JSON.
 */
export default fp(async function jsonBody(app: FastifyInstance) {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== undefined && !utf8.test(charset)) {
      done(
        new BodyRefusedError(
          415,
          `charset ${JSON.stringify(charset)} is not supported; send the body as UTF-8 (application/json; charset=utf-8)`,
        ),
        undefined,
      );
      return;
    }
    const text = (body as Buffer).toString('utf8');
    if (text.length === 0) {
      done(new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), undefined);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      done(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), undefined);
      return;
    }
    try {
      // The parsed value's keys are scanned, not the text: secure-json-parse's own parse runs two regular
      // expressions over the whole body first, a cost per megabyte for every large text.
      if (typeof parsed === 'object' && parsed !== null)
        secureJson.scan(parsed, { protoAction: 'error', constructorAction: 'error' });
      done(null, parsed);
    } catch (error) {
      if (/forbidden (prototype|constructor) property/.test((error as Error).message)) {
        done(
          new BodyRefusedError(
            400,
            'body must not contain the keys "__proto__" or "constructor.prototype" (refused as prototype pollution)',
          ),
          undefined,
        );
        return;
      }
      done(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), undefined);
    }
  });
});
