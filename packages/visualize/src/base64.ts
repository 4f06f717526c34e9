/** Standard base64 (RFC 4648, with padding) of some bytes, with the platform's `btoa` (browsers, Node ≥ 16). */
export function toBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 0x8000) parts.push(String.fromCharCode(...bytes.subarray(i, i + 0x8000)));
  return btoa(parts.join(''));
}
