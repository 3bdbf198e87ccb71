/**
 * The shape of a Keygate token, `{prefix}{kind}_{body}`, checked locally so that a malformed or
 * mistyped token is refused without a call to Keygate, as Keygate itself refuses it without a
 * storage lookup.
 *
 * WARNING: this mirrors `keygate-domain`'s token format (alphabet, lengths, CRC32 checksum).
 * Changing either side alone would refuse every valid token.
 */

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Base62 characters of randomness in a body. */
const RANDOM_LEN = 27;
/** Base62 characters of the CRC32 checksum that ends a body. */
const CHECKSUM_LEN = 6;
const BODY_LEN = RANDOM_LEN + CHECKSUM_LEN;
/** A prefix is 1 to 8 lowercase letters or digits, starting with a letter. */
const MAX_PREFIX_LEN = 8;
/** Any deployment's prefix, a kind letter (`p`ersonal, `t`oken, `a`pi user), `_`, the body. */
const SHAPE = /^[a-z][a-z0-9]{0,7}[pta]_[0-9A-Za-z]{33}$/;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c >>> 0;
  }
  return table;
})();

/** The CRC32 (IEEE) of ASCII `text`. */
function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc = (CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** The checksum of `text`: its CRC32 in base62, padded with `0`s to six characters. */
export function checksum(text: string): string {
  let crc = crc32(text);
  let out = "";
  for (let i = 0; i < CHECKSUM_LEN; i++) {
    out = ALPHABET.charAt(crc % 62) + out;
    crc = Math.floor(crc / 62);
  }
  return out;
}

/**
 * Whether `token` has the shape and checksum of a token of any Keygate deployment (whatever its
 * prefix). It says nothing of whether the token exists.
 */
export function isWellFormedToken(token: string): boolean {
  if (token.length < 1 + 2 + BODY_LEN || token.length > MAX_PREFIX_LEN + 2 + BODY_LEN) {
    return false;
  }
  if (!SHAPE.test(token)) {
    return false;
  }
  const cut = token.length - CHECKSUM_LEN;
  return checksum(token.slice(0, cut)) === token.slice(cut);
}
