/** The local function runtime: sandboxes speaking the Lambda Runtime API, pooled per function. */
export { LocalFunction, type LocalFunctionOptions } from './local-function.ts';
