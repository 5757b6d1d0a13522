export { Reader, DecodeError } from './reader.js';
export { Writer } from './writer.js';
export { ctEqual, wipe, concat, equal, toHex, fromHex, utf8 } from './util.js';
