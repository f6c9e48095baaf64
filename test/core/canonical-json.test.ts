import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash, type ReviewableContent, sha256Hex } from '../../src/core/canonical-json.js';
import type { ChangeSetInput, ItemInput } from '../../src/core/types.js';

/** The IEEE 754 double with these bits (RFC 8785 Appendix B lists its cases this way). */
function double(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalJson', () => {
  it('serialises the RFC 8785 §3.2.2 example exactly', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        ' "literals": [null, true, false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units, as in the RFC 8785 §3.2.3 example', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Object.values would not do: JavaScript lists the integer-like key "1" first.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('serialises the double 0x%s as %s (RFC 8785 Appendix B)', (bits, expected) => {
    expect(canonicalJson(double(bits))).toBe(expected);
  });

  it.each([
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [-0, '0'],
    // Parsed from text: as a literal it would already be rounded (Biome's noPrecisionLoss).
    [JSON.parse('333333333.33333329'), '333333333.3333333'],
    [4.5, '4.5'],
    [100, '100'],
  ])('serialises the number %s as %s', (value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it.each([NaN, Infinity, -Infinity])('refuses the non-finite number %s', (value) => {
    expect(() => canonicalJson({ a: [value] })).toThrow(RangeError);
  });

  it('refuses values that are not JSON', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
    expect(() => canonicalJson([Symbol('s')])).toThrow(TypeError);
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });

  it('omits undefined members and writes undefined array elements as null, as JSON.stringify does', () => {
    expect(canonicalJson({ b: undefined, a: 1, c: [undefined, 2] })).toBe('{"a":1,"c":[null,2]}');
    expect(canonicalJson({ a: undefined })).toBe('{}');
  });

  it('escapes strings as JSON.stringify does, with no whitespace anywhere', () => {
    expect(canonicalJson({ s: 'tab\there "q" \\ \u0001 \u2028' })).toBe(
      '{"s":"tab\\there \\"q\\" \\\\ \\u0001 \u2028"}',
    );
    expect(canonicalJson({ a: [1, { b: [] }, {}], z: null })).toBe('{"a":[1,{"b":[]},{}],"z":null}');
  });

  it('sorts nested keys and honours toJSON', () => {
    expect(canonicalJson({ z: { y: 1, x: 2 }, a: new Date(0) })).toBe(
      '{"a":"1970-01-01T00:00:00.000Z","z":{"x":2,"y":1}}',
    );
  });

  it('keeps an own __proto__ member, as JSON.parse creates it', () => {
    expect(canonicalJson(JSON.parse('{"b":2,"__proto__":{"x":1}}'))).toBe('{"__proto__":{"x":1},"b":2}');
  });

  it('gives the same text whatever the insertion order of keys', () => {
    expect(canonicalJson({ a: 1, b: { c: 2, d: 3 } })).toBe(canonicalJson({ b: { d: 3, c: 2 }, a: 1 }));
  });
});

describe('sha256Hex', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ])('hashes %j to the published digest', (text, digest) => {
    expect(sha256Hex(text)).toBe(digest);
  });

  it('hashes the UTF-8 bytes of the text', () => {
    const utf8 = createHash('sha256')
      .update(Buffer.from([0xe2, 0x82, 0xac]))
      .digest('hex');
    expect(sha256Hex('€')).toBe(utf8);
  });
});

const baseItem = (): ItemInput => ({
  key: 'a',
  operation_type: 'UPDATE',
  target_type: 'config',
  target_id: 'security.firewall',
  after_state: { enabled: true, ports: [22, 443] },
  depends_on: [],
});

const baseContent = (): ChangeSetInput => ({
  change_set_id: 'cs-1',
  title: 'Open port 443',
  description: 'HTTPS',
  agent_type: 'INFRA',
  category: 'SECURITY',
  priority: 'HIGH',
  tags: ['net'],
  metadata: { ticket: 'OPS-1' },
  approval_chain: ['alice'],
  auto_apply: false,
  items: [baseItem()],
});

describe('contentHash', () => {
  it('is sha256: of the canonical JSON of title, description, category, priority and items', () => {
    const expected =
      '{"category":"SECURITY","description":"HTTPS","items":[{"after_state":{"enabled":true,"ports":[22,443]},' +
      '"depends_on":[],"key":"a","operation_type":"UPDATE","target_id":"security.firewall","target_type":"config"}],' +
      '"priority":"HIGH","title":"Open port 443"}';
    expect(contentHash(baseContent())).toBe('sha256:' + sha256Hex(expected));
    expect(contentHash(baseContent())).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('does not depend on the key order of the content or of its JSON values', () => {
    const reordered: ReviewableContent = {
      items: [
        {
          depends_on: [],
          after_state: { ports: [22, 443], enabled: true },
          target_id: 'security.firewall',
          target_type: 'config',
          operation_type: 'UPDATE',
          key: 'a',
        },
      ],
      priority: 'HIGH',
      category: 'SECURITY',
      description: 'HTTPS',
      title: 'Open port 443',
    };
    expect(contentHash(reordered)).toBe(contentHash(baseContent()));
  });

  it('treats an undefined item field as absent', () => {
    const withUndefined = baseContent();
    withUndefined.items[0] = { ...baseItem(), diff_data: undefined, before_state: undefined, base_version: undefined };
    expect(contentHash(withUndefined)).toBe(contentHash(baseContent()));
  });

  const changes: Array<[string, (content: ChangeSetInput) => void]> = [
    ['title', (c) => (c.title = 'Open port 8443')],
    ['description', (c) => (c.description = null)],
    ['category', (c) => (c.category = 'GENERAL')],
    ['priority', (c) => (c.priority = 'LOW')],
    ['an item key', (c) => (c.items[0]!.key = 'b')],
    ['an operation_type', (c) => (c.items[0]!.operation_type = 'RESET')],
    ['a target_type', (c) => (c.items[0]!.target_type = 'flag')],
    ['a target_id', (c) => (c.items[0]!.target_id = 'security.firewall2')],
    ['an after_state', (c) => (c.items[0]!.after_state = { enabled: false, ports: [22, 443] })],
    ['a diff_data', (c) => (c.items[0]!.diff_data = [{ op: 'remove', path: '/ports/0' }])],
    ['a before_state', (c) => (c.items[0]!.before_state = null)],
    ['a base_version', (c) => (c.items[0]!.base_version = 3)],
    ['a depends_on', (c) => c.items.push({ ...baseItem(), key: 'b', depends_on: ['a'] })],
    ['the item order', (c) => c.items.unshift({ ...baseItem(), key: 'z' })],
  ];
  it.each(changes)('changes when %s changes', (_, change) => {
    const changed = baseContent();
    change(changed);
    expect(contentHash(changed)).not.toBe(contentHash(baseContent()));
  });

  const ignored: Array<[string, (content: ChangeSetInput) => void]> = [
    ['tags', (c) => (c.tags = ['other'])],
    ['metadata', (c) => (c.metadata = { ticket: 'OPS-2' })],
    ['approval_chain', (c) => (c.approval_chain = [])],
    ['auto_apply', (c) => (c.auto_apply = true)],
    ['agent_type', (c) => (c.agent_type = 'UI')],
    ['change_set_id', (c) => (c.change_set_id = 'cs-2')],
  ];
  it.each(ignored)('does not change when %s changes', (_, change) => {
    const changed = baseContent();
    change(changed);
    expect(contentHash(changed)).toBe(contentHash(baseContent()));
  });

  it('hashes 10,000 items deterministically', () => {
    const content = baseContent();
    content.items = Array.from({ length: 10_000 }, (_, i) => ({
      ...baseItem(),
      key: String(i),
      target_id: `t.${i}`,
      after_state: { i, name: `item ${i}`, nested: { list: [i, i + 1], flag: i % 2 === 0 } },
      depends_on: i > 0 ? [String(i - 1)] : [],
    }));
    const hash = contentHash(content);
    expect(hash).toBe(contentHash(structuredClone(content)));
  });
});
