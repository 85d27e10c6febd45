// pino-roll ships no types: the part of its API the access log uses.
declare module 'pino-roll' {
  import type { pino } from 'pino';

  /** pino-roll's stream is pino's own destination class (sonic-boom). */
  type SonicBoom = ReturnType<typeof pino.destination>;

  interface PinoRollOptions {
    file: string;
    /** A string with a unit (`10m`, `512k`, `1024b`); a bare number is megabytes. */
    size?: string | number;
    /** `daily`, `hourly`, or milliseconds. */
    frequency?: 'daily' | 'hourly' | number;
    extension?: string;
    symlink?: boolean;
    limit?: { count: number; removeOtherLogFiles?: boolean };
    dateFormat?: string;
    mkdir?: boolean;
    sync?: boolean;
    minLength?: number;
    maxWrite?: number;
    maxLength?: number;
    periodicFlush?: number;
  }

  export default function pinoRoll(options: PinoRollOptions): Promise<SonicBoom>;
}
