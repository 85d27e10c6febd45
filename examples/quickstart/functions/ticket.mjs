// A Lambda-compatible handler (payload 2.0): the gateway runs it in a sandbox of its own. The same file runs
// unchanged on AWS Lambda behind an HTTP API. See docs/functions.md.
export const handler = async (event, context) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    ticket: `table ${event.pathParameters.table}`,
    items: (event.queryStringParameters?.items ?? '').split(',').filter(Boolean),
    requestId: context.awsRequestId,
  }),
});
