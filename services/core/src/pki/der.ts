// The little DER that X.509 issuance and inspection need, encoded and read directly: a general
// ASN.1 library spends most of a cluster's PKI time building and walking schema objects.
import { isIPv4, isIPv6 } from 'node:net';

/* eslint-disable no-restricted-syntax -- DER this code encodes or stored itself: malformed bytes are corrupt
   state no caller can correct, and the PKI layer above reports them as a PkiError where a caller can act. */

const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

export { TAG as DER_TAG };

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export const sequence = (...children: Buffer[]): Buffer => tlv(TAG.sequence, Buffer.concat(children));
export const set = (...children: Buffer[]): Buffer => tlv(TAG.set, Buffer.concat(children));
export const octetString = (content: Buffer): Buffer => tlv(TAG.octetString, content);
export const nullValue = (): Buffer => Buffer.from([TAG.null, 0]);
export const booleanTrue = (): Buffer => Buffer.from([TAG.boolean, 1, 0xff]);
/** `[n] EXPLICIT`: a constructed context tag around one encoded value. */
export const explicit = (tagNumber: number, child: Buffer): Buffer => tlv(0xa0 | tagNumber, child);
/** `[n] IMPLICIT` over a primitive value. */
export const implicitPrimitive = (tagNumber: number, content: Buffer): Buffer => tlv(0x80 | tagNumber, content);

/** A non-negative INTEGER from its big-endian magnitude. */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start += 1;
  const trimmed = magnitude.subarray(start);
  return tlv(TAG.integer, trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) chunk.unshift(0x80 | (rest & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(TAG.oid, Buffer.from(bytes));
}

export function bitString(content: Buffer, unusedBits = 0): Buffer {
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([unusedBits]), content]));
}

/** A named-bit BIT STRING (RFC 5280 KeyUsage): bit n is `1 << n`, trailing zero bits dropped as DER requires. */
export function namedBits(flags: number): Buffer {
  let highest = -1;
  for (let bit = 0; bit < 32; bit += 1) if (flags & (1 << bit)) highest = bit;
  if (highest < 0) return bitString(Buffer.alloc(0));
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (let bit = 0; bit <= highest; bit += 1) if (flags & (1 << bit)) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  return bitString(bytes, 7 - (highest % 8));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** PrintableString when every character allows it, else UTF8String (as Go's and OpenSSL's defaults do). */
export function directoryString(text: string): Buffer {
  return PRINTABLE.test(text) ? tlv(TAG.printableString, Buffer.from(text, 'latin1')) : tlv(TAG.utf8String, Buffer.from(text, 'utf8'));
}

export const ia5String = (text: string): Buffer => tlv(TAG.ia5String, Buffer.from(text, 'ascii'));

const two = (value: number): string => String(value).padStart(2, '0');

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds. */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  if (year > 2049) return tlv(TAG.generalizedTime, Buffer.from(`${String(year).padStart(4, '0')}${rest}`, 'ascii'));
  return tlv(TAG.utcTime, Buffer.from(`${two(year % 100)}${rest}`, 'ascii'));
}

/** An IP address as the 4 or 16 bytes of a GeneralName iPAddress. */
export function ipBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  if (!isIPv6(address)) throw new Error(`${address} is not an IP address`);
  let text = address;
  const embedded = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (embedded) {
    const [a, b, c, d] = embedded[1].split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, embedded.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}

/** The textual form of iPAddress bytes: dotted IPv4, or RFC 5952 compressed IPv6. */
export function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) throw new Error(`an iPAddress of ${bytes.length} bytes`);
  const groups = Array.from({ length: 8 }, (_, index) => bytes.readUInt16BE(index * 2));
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end += 1;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** One spelling per address, so differently written requests compare equal. */
export function canonicalIp(address: string): string {
  return ipText(ipBytes(address));
}

// ---- reading ----

/** One decoded TLV: its tag, and where its content sits in the buffer it came from. */
export interface DerNode {
  tag: number;
  /** The whole encoding, header included. */
  raw: Buffer;
  content: Buffer;
}

export function readNode(buffer: Buffer, offset = 0): DerNode {
  if (offset + 2 > buffer.length) throw new Error('DER: truncated header');
  const tag = buffer[offset];
  if ((tag & 0x1f) === 0x1f) throw new Error('DER: multi-byte tags are not used in certificates');
  let length = buffer[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error('DER: unsupported length');
    if (offset + 2 + count > buffer.length) throw new Error('DER: truncated length');
    length = 0;
    for (let index = 0; index < count; index += 1) length = length * 256 + buffer[offset + 2 + index];
    header += count;
  }
  const end = offset + header + length;
  if (end > buffer.length) throw new Error('DER: content runs past the end');
  return { tag, raw: buffer.subarray(offset, end), content: buffer.subarray(offset + header, end) };
}

/** The children of a constructed node, in order. */
export function children(node: DerNode): DerNode[] {
  if (!(node.tag & 0x20)) throw new Error(`DER: tag 0x${node.tag.toString(16)} is not constructed`);
  const result: DerNode[] = [];
  for (let offset = 0; offset < node.content.length;) {
    const child = readNode(node.content, offset);
    result.push(child);
    offset += child.raw.length;
  }
  return result;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node?.tag !== tag) throw new Error(`DER: ${what} expected tag 0x${tag.toString(16)}, got ${node ? `0x${node.tag.toString(16)}` : 'nothing'}`);
  return node;
}

export function readOid(node: DerNode): string {
  expectTag(node, TAG.oid, 'OBJECT IDENTIFIER');
  const bytes = node.content;
  if (bytes.length === 0) throw new Error('DER: empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

export function readString(node: DerNode): string {
  switch (node.tag) {
    case TAG.utf8String:
      return node.content.toString('utf8');
    case TAG.printableString:
    case TAG.ia5String:
    case 0x14: // TeletexString, read as Latin-1 like most decoders
      return node.content.toString('latin1');
    case 0x1e: // BMPString
      return Buffer.from(node.content).swap16().toString('utf16le');
    default:
      throw new Error(`DER: tag 0x${node.tag.toString(16)} is not a string`);
  }
}

export function readTime(node: DerNode): Date {
  const text = node.content.toString('ascii');
  const match =
    node.tag === TAG.utcTime
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : node.tag === TAG.generalizedTime
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
        : null;
  if (!match) throw new Error(`DER: unreadable time ${JSON.stringify(text)}`);
  const [, yearText, month, day, hour, minute, second] = match as unknown as [string, string, string, string, string, string, string];
  let year = Number(yearText);
  if (node.tag === TAG.utcTime) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)));
}

export function pemToDer(pem: string, label: string): Buffer {
  const match = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(pem);
  if (!match) throw new Error(`not a PEM ${label}`);
  const der = Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
  if (der.length === 0) throw new Error(`empty PEM ${label}`);
  return der;
}

export function derToPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
