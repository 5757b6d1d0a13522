import type { Link } from '../coap/link-format.js';
import { attributeLinkParams, type AttributeStore } from './attributes.js';
import { Lwm2mError } from './errors.js';
import type { ObjectStore } from './object-store.js';
import { pathToString, type Path } from './types.js';

/**
 * Discover from an LwM2M server (OMA-TS-LightweightM2M-Core §5.4.2), with the attributes that
 * server assigned, as the TS's examples show them (pmin on /3, pmax on /3/0, gt and lt on
 * /3/0/7; the Device object has resources 6, 7 and 8 with 8 instances each):
 *  - on an object: the object with its attributes, its instances and their resources, without
 *    attributes: `</3>;pmin=10,</3/0>,</3/0/1>,...,</3/0/6>,</3/0/7>,</3/0/8>,...`
 *  - on an instance: the instance with its attributes, its resources with dim and theirs:
 *    `</3/0>;pmax=60,</3/0/1>,...,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2,...`
 *  - on a resource: the resource with dim, and its attributes and those it inherits from the
 *    object and the instance: `</3/0/7>;dim=8;pmin=10;pmax=60;gt=50;lt=42.2`
 */
export function discover(store: ObjectStore, attributes: AttributeStore, ssid: number, path: Path): Link[] {
  const [o, i, r] = path;
  if (o === undefined) throw Lwm2mError.badRequest('Discover needs an object');
  if (path.length > 3) throw Lwm2mError.badRequest('Discover is on an object, an instance or a resource');
  if (r === undefined) {
    const links = store.discover(path);
    return links.map((l) => {
      const level = l.target.split('/').length - 1;
      if (level === path.length) return { target: l.target, attributes: [...attributeLinkParams(attributes.at(ssid, path))] };
      if (path.length === 1) return { target: l.target, attributes: [] }; // an object: no attributes below it
      return { target: l.target, attributes: [...l.attributes, ...attributeLinkParams(attributes.at(ssid, [o, i!, Number(l.target.split('/')[3])]))] };
    });
  }
  const target = pathToString(path);
  const link = store.discover([o, i!]).find((l) => l.target === target);
  if (!link) throw Lwm2mError.notFound(target);
  return [{ target, attributes: [...link.attributes, ...attributeLinkParams(attributes.inherited(ssid, path))] }];
}
