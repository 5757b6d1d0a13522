import { Code } from '../coap/message.js';

/** An LwM2M operation refused with a CoAP response code (OMA-TS Core §6 "Response Codes"). */
export class Lwm2mError extends Error {
  override readonly name = 'Lwm2mError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
  static notFound(what: string) {
    return new Lwm2mError(Code.NotFound, `${what} not found`);
  }
  static badRequest(why: string) {
    return new Lwm2mError(Code.BadRequest, why);
  }
  static notAllowed(why: string) {
    return new Lwm2mError(Code.MethodNotAllowed, why);
  }
  static unauthorized(why: string) {
    return new Lwm2mError(Code.Unauthorized, why);
  }
  static notAcceptable(why: string) {
    return new Lwm2mError(Code.NotAcceptable, why);
  }
}
