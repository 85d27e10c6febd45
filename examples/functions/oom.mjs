// A handler that allocates until the heap limit (memorySize) is hit: Runtime.OutOfMemory.

export const handler = async () => {
  const hog = [];
  for (;;) hog.push(new Array(1_000_000).fill(1.5));
};
