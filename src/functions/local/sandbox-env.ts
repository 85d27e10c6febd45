/**
 * The environment of a sandbox, as AWS Lambda sets it. It is built from scratch: the gateway's own environment
 * (credentials, tokens, NODE_OPTIONS) never reaches a function; only PATH and a few locale/temp variables that
 * programs need to start are carried over.
 */
import { randomBytes } from 'node:crypto';

/** Gateway variables a sandbox inherits: how to find programs and where temp files go; nothing that can hold a secret. */
const INHERITED = ['PATH', 'TMPDIR', 'LANG'] as const;

/** AWS's account id placeholder for local functions (what the Runtime Interface Emulator and LocalStack use too). */
const LOCAL_ACCOUNT = '000000000000';

export interface SandboxIdentity {
  functionName: string;
  memorySize: number;
  region: string;
  logGroupName: string;
  invokedFunctionArn: string;
}

/** The function-wide names (one per function, not per sandbox). */
export function sandboxIdentity(functionName: string, memorySize: number, environment: Record<string, string>): SandboxIdentity {
  const region = environment.AWS_REGION ?? process.env.AWS_REGION ?? 'us-east-1';
  return {
    functionName,
    memorySize,
    region,
    logGroupName: `/aws/lambda/${functionName}`,
    invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${functionName}`,
  };
}

/** A log stream name as Lambda makes one per sandbox: `2024/05/01/[$LATEST]<32 hex>`. */
export function logStreamName(now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

export interface SandboxEnvInput {
  identity: SandboxIdentity;
  logStreamName: string;
  runtimeApi: string;
  handler: string | undefined;
  taskRoot: string;
  runtimeDir: string;
  /** `AWS_EXECUTION_ENV`, when the runtime is one AWS names (`AWS_Lambda_nodejs24.x`). */
  executionEnv?: string;
  /** The function's own variables; they may not override the ones the runtime owns. */
  environment: Record<string, string>;
  /** Runtime-private variables (the Node runtime removes them before loading the handler). */
  extra?: Record<string, string>;
}

export function sandboxEnv(input: SandboxEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of INHERITED) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  env.LANG ??= 'en_US.UTF-8';
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  Object.assign(env, input.environment);
  const { identity } = input;
  Object.assign(env, {
    TZ: ':UTC',
    AWS_REGION: identity.region,
    AWS_DEFAULT_REGION: identity.region,
    AWS_LAMBDA_RUNTIME_API: input.runtimeApi,
    _HANDLER: input.handler ?? '',
    LAMBDA_TASK_ROOT: input.taskRoot,
    LAMBDA_RUNTIME_DIR: input.runtimeDir,
    AWS_LAMBDA_FUNCTION_NAME: identity.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(identity.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: identity.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: input.logStreamName,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
  }, input.executionEnv === undefined ? {} : { AWS_EXECUTION_ENV: input.executionEnv }, input.extra);
  return env;
}
