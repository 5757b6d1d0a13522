export { Reader, DecodeError } from './reader.js';
export { Writer } from './writer.js';
export { ctEqual, wipe, concat, equal, toHex, fromHex, utf8 } from './util.js';
export { base64Decode, base64Encode, base64UrlEncode, type Base64DecodeOptions } from './base64.js';
