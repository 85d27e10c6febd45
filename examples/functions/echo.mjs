// An async ES module handler: answers with what it was given (event, context, environment), for tests and for
// trying a route out. `remaining` reads context.getRemainingTimeInMillis() twice; `chatty` writes log lines.

export const handler = async (event, context) => {
  console.log(`echo ${context.awsRequestId}`);
  return {
    event,
    pid: process.pid,
    context: {
      awsRequestId: context.awsRequestId,
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      invokedFunctionArn: context.invokedFunctionArn,
      memoryLimitInMB: context.memoryLimitInMB,
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
      callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
      remainingMs: context.getRemainingTimeInMillis(),
      identity: context.identity,
      clientContext: context.clientContext,
    },
    env: process.env,
    cwd: process.cwd(),
  };
};

export const remaining = async (_event, context) => {
  const first = context.getRemainingTimeInMillis();
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { first, second: context.getRemainingTimeInMillis() };
};

export const chatty = async (event) => {
  for (let i = 0; i < (event.lines ?? 3); i++) console.log(`line ${i} ${'x'.repeat(event.width ?? 0)}`);
  console.error('to stderr');
  return 'done';
};

export const big = async (event) => 'x'.repeat(event.bytes);
