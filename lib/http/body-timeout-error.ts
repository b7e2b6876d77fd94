/**
 * BodyTimeoutError: the request body stopped arriving. It lives beside the
 * HTTP front rather than in lib/errors.ts only while lib/ is being
 * restructured; it belongs with the other coded errors there.
 */
import { PhpZygoteError } from '../errors.js';

/** No piece of the request body arrived for bodyTimeout ms; answered with 408. */
export class BodyTimeoutError extends PhpZygoteError {
  readonly timeout: number;
  constructor(timeout: number) {
    super('ERR_BODY_TIMEOUT', `the request body did not arrive: nothing for bodyTimeout (${timeout} ms)`);
    this.timeout = timeout;
  }
}
