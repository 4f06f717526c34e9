const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes `& < > " '` so text is safe in HTML/SVG/XML content and quoted attributes. */
export function escapeXml(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}
