/**
 * Host names as Ansible's inventory plugins read them (ansible/parsing/utils/addresses.py and the range
 * expansion of plugins/inventory/__init__.py): `host:port`, `[v6]:port`, `www[01:50]`, `[01:50:2]`, `[a:f]`.
 * Pure; errors are plain Errors whose message the caller prefixes with file:line.
 */

const NUMERIC_RANGE = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const HEX_RANGE = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const ALNUM_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const IPV6_C = `(?:[0-9a-f]{1,4}|${HEX_RANGE})`;
const IPV4_C = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUMERIC_RANGE})`;
const W = String.raw`[\p{L}\p{N}\p{M}_]`;
const LABEL = `(?:${W}|${ALNUM_RANGE})(?:${W}|-|${ALNUM_RANGE})*(?<![_-])`;

const C6 = IPV6_C;
const IPV6_ALTS = [
  `(?:${C6}:){7}${C6}`,
  `(?:${C6}:){1,6}:`,
  `(?:${C6}:)(?::${C6}){1,6}`,
  `(?:${C6}:){2}(?::${C6}){1,5}`,
  `(?:${C6}:){3}(?::${C6}){1,4}`,
  `(?:${C6}:){4}(?::${C6}){1,3}`,
  `(?:${C6}:){5}(?::${C6}){1,2}`,
  `(?:${C6}:){6}(?::${C6})`,
  `:(?::${C6}){1,6}`,
  `${C6}?::`,
  `(?:0:){6}(?:${C6}\\.){3}${C6}`,
  `::(?:ffff:)?(?:${C6}\\.){3}${C6}`,
  `(?:0:){5}ffff:(?:${C6}\\.){3}${C6}`,
];

export const ADDRESS_PATTERNS = {
  bracketedHostport: /^\[(.+)\]:([0-9]+)$/,
  hostport: /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/,
  ipv4: new RegExp(`^(?:${IPV4_C}\\.){3}${IPV4_C}$`, 'i'),
  // Python writes `^a|b|c$` and calls re.match(): every alternative is anchored at the start, only the last at the end.
  ipv6: new RegExp(`^(?:${IPV6_ALTS.slice(0, -1).join('|')}|${IPV6_ALTS[IPV6_ALTS.length - 1]}$)`, 'i'),
  hostname: new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, 'iu'),
};

/** Labels of ASCII letters, digits, `_` and `-` that start and end with a letter or digit: a subset of `hostname`. */
export const PLAIN_HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*$/;

/** Ansible's parse_address(): returns [host, port] or throws when it is not a host name / address. */
export function parseAddress(address: string, allowRanges: boolean): [string, number | undefined] {
  let port: number | undefined;
  let addr = address;
  for (const re of [ADDRESS_PATTERNS.bracketedHostport, ADDRESS_PATTERNS.hostport]) {
    const m = re.exec(addr);
    if (m) {
      addr = m[1]!;
      port = parseInt(m[2]!, 10);
    }
  }
  let host: string | undefined;
  // Plain ASCII names are valid hostnames without the Unicode pattern, whose first use costs milliseconds.
  if (PLAIN_HOSTNAME.test(addr)) host = addr;
  else {
    for (const re of [ADDRESS_PATTERNS.ipv4, ADDRESS_PATTERNS.ipv6, ADDRESS_PATTERNS.hostname]) {
      if (re.test(addr)) host = addr;
    }
  }
  if (!host) throw new Error(`Not a valid network hostname: ${addr}`);
  if (!allowRanges && host.includes('[')) throw new Error('Detected range in host but was asked to ignore ranges');
  return [host, port];
}

/** A dotted quad of plain numbers (no ranges): decided without the full patterns, whose first use is costly. */
const PLAIN_DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIpAddress(name: string): boolean {
  const quad = PLAIN_DOTTED_QUAD.exec(name);
  if (quad) return quad.slice(1).every((octet) => Number(octet) <= 255);
  return ADDRESS_PATTERNS.ipv4.test(name) || ADDRESS_PATTERNS.ipv6.test(name);
}

const ASCII_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function pyInt(s: string): number {
  if (!/^\s*[+-]?\d+(?:_\d+)*\s*$/.test(s)) throw new Error(`invalid literal for int() with base 10: '${s}'`);
  return parseInt(s.replace(/_/g, ''), 10);
}

/** Ansible's expand_hostname_range(): every `[beg:end(:step)]` in the name, left to right. */
export function expandHostnameRange(line: string): string[] {
  const open = line.indexOf('[');
  if (open < 0) return [line];
  const close = line.indexOf(']');
  // Python splits on the first '[' and the first ']' after replacing them with '|'.
  const parts = line.replace('[', '|').replace(']', '|').split('|');
  if (close < 0 || parts.length !== 3) throw new Error(`invalid host range in '${line}': expected one [begin:end] per bracket pair`);
  const [head, nrange, tail] = parts as [string, string, string];
  const bounds = nrange.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) throw new Error('host range must be begin:end or begin:end:step');
  let beg = bounds[0]!;
  const end = bounds[1]!;
  const step = bounds.length === 2 ? 1 : pyInt(bounds[2]!);
  if (!beg) beg = '0';
  if (!end) throw new Error('host range must specify end value');
  let fill = (x: string | number): string => String(x);
  if (beg[0] === '0' && beg.length > 1) {
    const rlen = beg.length;
    if (rlen !== end.length) throw new Error('host range must specify equal-length begin and end formats');
    fill = (x) => String(x).padStart(rlen, '0');
  }
  if (step === 0) throw new Error('range() arg 3 must not be zero');
  let seq: (string | number)[];
  const iBeg = ASCII_LETTERS.indexOf(beg);
  const iEnd = ASCII_LETTERS.indexOf(end);
  if (iBeg >= 0 && iEnd >= 0) {
    if (iBeg > iEnd) throw new Error('host range must have begin <= end');
    seq = [];
    if (step > 0) for (let i = iBeg; i <= iEnd; i += step) seq.push(ASCII_LETTERS[i]!);
  } else {
    const b = pyInt(beg);
    const e = pyInt(end) + 1;
    seq = [];
    if (step > 0) for (let i = b; i < e; i += step) seq.push(i);
    else for (let i = b; i > e; i += step) seq.push(i);
  }
  // Ansible silently yields no host for an empty range such as [3:1]; that is always a typo, so say so.
  if (seq.length === 0) throw new Error(`host range [${nrange}] in '${line}' expands to no hosts (begin must be <= end)`);
  const out: string[] = [];
  for (const r of seq) {
    const h = head + fill(r) + tail;
    if (h.includes('[')) out.push(...expandHostnameRange(h));
    else out.push(h);
  }
  return out;
}

/** BaseInventoryPlugin._expand_hostpattern(): names (ranges expanded) and the optional port. */
export function expandHostPattern(pattern: string): { hosts: string[]; port: number | undefined } {
  let p = pattern;
  let port: number | undefined;
  try {
    [p, port] = parseAddress(pattern, true);
  } catch {
    p = pattern;
    port = undefined;
  }
  return { hosts: p.includes('[') ? expandHostnameRange(p) : [p], port };
}
