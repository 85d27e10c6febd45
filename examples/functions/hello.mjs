// The trivial handler: what cold-start and warm-overhead benchmarks measure.

export const handler = async () => ({ statusCode: 200, body: 'hello' });
