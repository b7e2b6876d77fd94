import { constants } from 'node:os';

const byNumber = new Map<number, NodeJS.Signals>();
for (const [name, number] of Object.entries(constants.signals)) {
  if (!byNumber.has(number)) byNumber.set(number, name as NodeJS.Signals);
}

/** 'SIGKILL' or 9 -> 9; throws ERR_UNKNOWN_SIGNAL like process.kill does. */
export function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === 'number' && Number.isInteger(signal) && signal >= 0) return signal;
  const number = typeof signal === 'string' ? (constants.signals as Record<string, number>)[signal] : undefined;
  if (number === undefined) {
    const err = new TypeError(`Unknown signal: ${String(signal)}`) as TypeError & { code: string };
    err.code = 'ERR_UNKNOWN_SIGNAL';
    throw err;
  }
  return number;
}

/** 9 -> 'SIGKILL'; null for null. */
export function signalName(signal: number | null): NodeJS.Signals | null {
  if (signal === null) return null;
  return byNumber.get(signal) ?? (`SIG${signal}` as NodeJS.Signals);
}
