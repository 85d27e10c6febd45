// A handler run by aws-lambda-ric (see bootstrap): AWS's runtime, unchanged, against Expeditor's Runtime API.

export const handler = async (event, context) => ({ via: 'aws-lambda-ric', event, requestId: context.awsRequestId });

export const fails = async () => {
  throw new RangeError('out of range');
};
