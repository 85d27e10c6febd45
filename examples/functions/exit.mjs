// A handler that ends its own process: the invocation fails with Runtime.ExitError, the next gets a new sandbox.

export const handler = async () => {
  process.exit(3);
};
