/**
 * Event and response mapping between HTTP and Lambda, field for field as API Gateway does it: payload 1.0 (REST API
 * proxy integration) and 2.0 (HTTP API). Pure functions: no I/O, no RequestContext. See docs/functions.md.
 */
export type { HttpAnswer, HttpRequestView, Mapped } from './types.ts';
export { resourcePath } from './request-parts.ts';
export { eventV1 } from './event-v1.ts';
export { eventV2 } from './event-v2.ts';
export { responseV1 } from './response-v1.ts';
export { responseV2 } from './response-v2.ts';
export { awsErrorAnswer, type AwsFailure } from './aws-errors.ts';
export { mediaTypeMatches } from './media-types.ts';
