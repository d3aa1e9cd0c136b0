import { createHash } from 'node:crypto';

/** What names a client, whatever the protocol (HTTP headers, gRPC metadata). */
export interface ClientIdentity {
  /** The Authorization value, when API keys are required (only then does the key name the client). */
  authorization?: string;
  /** The value of CLIENT_ID_HEADER, when that setting names a header. */
  named?: string;
  /** The peer's address, without its port. */
  address: string;
}

const bearer = /^Bearer[ \t]+(\S+)/i;
/** A client-named header longer than this is cut: it is a map key, not a place to store bodies. */
const maxNamedCharacters = 256;

/**
 * The client a request counts for in the fair sharing of the queue and the engine: its API key (hashed, so the
 * secret is not kept in long-lived maps), else the name a trusted proxy put in CLIENT_ID_HEADER, else the peer
 * address. The kinds are prefixed so that no value of one can pose as another. Never logged, never a metric label.
 */
export function clientKeyOf(identity: ClientIdentity): string {
  const key = bearer.exec(identity.authorization ?? '')?.[1];
  if (key !== undefined) return `key:${createHash('sha256').update(key).digest('base64url')}`;
  if (identity.named !== undefined && identity.named !== '') {
    return `header:${identity.named.slice(0, maxNamedCharacters)}`;
  }
  return `address:${identity.address}`;
}
