import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FunctionsApiConfigT } from '../../config/schema/functions-api.ts';
import { formatAmzDate, isAwsAuthorization, parseAmzDate, parseAuthorization, parseQuery } from '../../plugins/aws-sigv4/parse.ts';
import { queryRecord, rawTarget, signedHeaderValues, SignatureVerifier } from '../../plugins/aws-sigv4/verify.ts';
import { invalidSignature, missingToken, SIGNATURE_MISMATCH, unrecognizedClient, type AwsError } from './aws-answers.ts';

/** AWS refuses a signature more than 5 minutes away from its clock. */
const SKEW_MS = 5 * 60 * 1000;
const SERVICE = 'lambda';

/**
 * SigV4 verification of Invoke API requests (header form, service `lambda`, any region), with the aws-sigv4 plugin's
 * parser and verifier (the AWS SDK's own canonicalisation). The body is hashed as received: Lambda clients don't send
 * `x-amz-content-sha256`, and the body is needed whole anyway. Answers are AWS's: 403 with the exception its front
 * door names (`MissingAuthenticationTokenException`, `UnrecognizedClientException`, `InvalidSignatureException`).
 */
export class InvokeSignatures {
  readonly #keys = new Map<string, SignatureVerifier>();

  constructor(credentials: FunctionsApiConfigT['credentials']) {
    // The Lambda REST-JSON protocol signs the path escaped once more (uriEscapePath), as every non-S3 service does.
    for (const c of credentials) this.#keys.set(c.accessKeyId, new SignatureVerifier(c.accessKeyId, c.secretAccessKey, true));
  }

  /** Undefined when `req` (whose body is `body`) is signed by a configured key; else AWS's refusal. */
  async refusal(req: IncomingMessage, body: Buffer, now = Date.now()): Promise<AwsError | undefined> {
    const authorization = req.headers.authorization;
    if (authorization === undefined || !isAwsAuthorization(authorization)) return missingToken();
    const amzDate = req.headers['x-amz-date'];
    const parsed = parseAuthorization(authorization, typeof amzDate === 'string' ? amzDate : undefined);
    if (!parsed.ok) return { status: 400, name: 'IncompleteSignatureException', message: parsed.reason };
    const claim = parsed.claim;
    const key = this.#keys.get(claim.accessKeyId);
    if (key === undefined) return unrecognizedClient();
    if (claim.service !== SERVICE) return invalidSignature(`Credential should be scoped to correct service: '${SERVICE}'.`);
    if (claim.amzDate === undefined) return { status: 400, name: 'IncompleteSignatureException', message: 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.' };
    const t = parseAmzDate(claim.amzDate);
    if (Number.isNaN(t) || claim.amzDate.slice(0, 8) !== claim.scopeDate) return invalidSignature(SIGNATURE_MISMATCH);
    if (Math.abs(now - t) > SKEW_MS) {
      return invalidSignature(`Signature expired: ${claim.amzDate} is now earlier than ${formatAmzDate(now - SKEW_MS)} (${formatAmzDate(now)} - 5 min.)`);
    }
    if (!claim.signedHeaders.includes('host') || !claim.signedHeaders.includes('x-amz-date')) return invalidSignature(SIGNATURE_MISMATCH);
    const values = signedHeaderValues(req, claim.signedHeaders);
    if ('missing' in values) return invalidSignature(SIGNATURE_MISMATCH);
    const target = rawTarget(req);
    const query = parseQuery(target.query);
    if (query === undefined) return invalidSignature(SIGNATURE_MISMATCH);
    const declared = values.headers['x-amz-content-sha256'];
    const payloadHash = createHash('sha256').update(body).digest('hex');
    if (declared !== undefined && declared !== payloadHash) return invalidSignature('The provided \'x-amz-content-sha256\' header does not match what was computed.');
    const received = { method: req.method ?? 'POST', path: target.path, query: queryRecord(query), headers: values.headers };
    return await key.verify(claim, t, received, payloadHash) ? undefined : invalidSignature(SIGNATURE_MISMATCH);
  }
}
