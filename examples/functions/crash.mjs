// A handler whose timer throws outside any promise: an uncaught exception. The runtime reports it as the
// invocation's error and exits, as Lambda's does; the next invocation gets a new sandbox.

export const handler = async () => {
  setTimeout(() => {
    throw new Error('uncaught in a timer');
  }, 0);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return 'unreachable';
};
