// A handler that never yields: only the timeout (SIGKILL) stops it.

export const handler = async () => {
  for (;;) { /* spin */ }
};
