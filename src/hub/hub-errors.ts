import { ServiceError, type ErrorCode } from '../errors/error-codes.js';

/**
 * Why a model could not be had from the Hub, worded for the person starting the service: what happened and what to
 * do. Every one ends start-up (or `sentiment-model pull`) with a non-zero exit.
 */
export class HubError extends ServiceError {
  constructor(message: string, code: ErrorCode = 'SENTIMENT_HUB') {
    super(code, message);
  }
}

/** HF_ENDPOINT could not be reached at all (after retries): the cache may still serve. */
export class HubUnreachableError extends HubError {
  constructor(
    readonly endpoint: string,
    readonly reason: string,
  ) {
    super(`cannot reach HF_ENDPOINT ${endpoint} (${reason})`, 'SENTIMENT_HUB_UNREACHABLE');
  }
}

export interface RepoRef {
  repoId: string;
  revision: string;
  endpoint: string;
}

const where = (ref: RepoRef): string => `${ref.repoId} (revision ${ref.revision}) on ${ref.endpoint}`;

export const hubErrors = {
  repoNotFound: (ref: RepoRef, status: number, hadToken: boolean) =>
    new HubError(
      `model repository ${where(ref)} not found (HTTP ${status}): check MODEL_ID` +
        (hadToken ? '' : '; if the repository is private or gated, HF_TOKEN is needed'),
    ),
  gated: (ref: RepoRef, status: number, hadToken: boolean) =>
    new HubError(
      `model repository ${where(ref)} is gated (HTTP ${status}): HF_TOKEN is needed, a token of an account that ` +
        `accepted the model's conditions on ${ref.endpoint}/${ref.repoId}` +
        (hadToken ? ' (the HF_TOKEN given has not)' : ''),
    ),
  tokenRefused: (ref: RepoRef, status: number, hadToken: boolean) =>
    new HubError(
      hadToken
        ? `HF_TOKEN was refused by ${ref.endpoint} for ${ref.repoId} (HTTP ${status}): HF_TOKEN is needed with read access to it`
        : `${where(ref)} refused access (HTTP ${status}): HF_TOKEN is needed`,
    ),
  revisionNotFound: (ref: RepoRef) =>
    new HubError(
      `revision ${ref.revision} not found in ${ref.repoId} on ${ref.endpoint}: check REVISION (a branch, tag or commit)`,
    ),
  fileNotFound: (ref: RepoRef, path: string, hint: string) =>
    new HubError(`${where(ref)} has no ${path}${hint === '' ? '' : `: ${hint}`}`),
  notTheHub: (ref: RepoRef, path: string, problem: string) =>
    new HubError(`HF_ENDPOINT ${ref.endpoint} did not answer for ${ref.repoId}/${path} as the Hub does: ${problem}`),
  serverError: (ref: RepoRef, path: string, status: number, attempts: number) =>
    new HubError(
      `HF_ENDPOINT ${ref.endpoint} answered HTTP ${status} for ${ref.repoId}/${path}, ${attempts} times: try again later`,
    ),
  corrupt: (ref: RepoRef, path: string, problem: string, attempts: number) =>
    new HubError(
      `${ref.repoId}/${path} from ${ref.endpoint} arrived damaged ${attempts} times (${problem}); nothing was cached`,
    ),
  offlineNotCached: (ref: RepoRef, cacheDir: string, missing: readonly string[]) =>
    new HubError(
      `HF_HUB_OFFLINE is set and ${ref.repoId} (revision ${ref.revision}) is not in the cache ${cacheDir}` +
        (missing.length > 0 ? ` (missing: ${missing.join(', ')})` : '') +
        `: pre-pull it with \`sentiment-model pull ${ref.repoId} --revision ${ref.revision}\` (or huggingface-cli download) ` +
        'with the same HF_HOME / HF_HUB_CACHE, or unset HF_HUB_OFFLINE',
    ),
  unreachableNotCached: (ref: RepoRef, cacheDir: string, cause: HubUnreachableError) =>
    new HubError(
      `${cause.message}, and ${ref.repoId} (revision ${ref.revision}) is not in the cache ${cacheDir}: check the network ` +
        'and HF_ENDPOINT, or pre-pull the model and start with HF_HUB_OFFLINE=1',
    ),
};
