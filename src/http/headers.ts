import { Type } from 'typebox';

/** Response headers, as the OpenAPI document describes them. */
export const RetryAfterHeader = Type.Integer({ minimum: 1, description: 'Seconds to wait before trying again', examples: [5] });
export const WwwAuthenticateHeader = Type.String({
  description: 'The authentication scheme (RFC 6750): `Bearer`, or `Bearer error="invalid_token"` for a bad token',
  examples: ['Bearer error="invalid_token"'],
});
export const AllowHeader = Type.String({ description: 'The methods this path answers', examples: ['GET, HEAD, POST'] });
export const RequestIdHeader = Type.String({ description: 'The request id, also in the log line of this request', examples: ['f3c1a6d2-0b5e-4d1e-9c1a-2f0c5b7e8a90'] });
export const LinkHeader = Type.String({
  description: 'RFC 8288: the next page, `<path?query&cursor=...>; rel="next"`, with the same query',
  examples: ['</api/u_8f2k/tasks?limit=50&cursor=WyJhYmMiLCIyMDI2LTAxLTEyVDEwOjAwOjAwLjEyM1oiLDQyXQ>; rel="next"'],
});
export const IdempotentReplayedHeader = Type.Literal('true', {
  description: 'Only on an answer replayed for a repeated Idempotency-Key (the first answer, kept): the request ran nothing this time',
  examples: ['true'],
});
