// A handler that outlives a short timeout: the gateway kills its sandbox.

export const handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, event.ms ?? 60_000));
  return 'slept';
};
