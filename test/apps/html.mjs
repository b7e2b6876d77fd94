// What a browser reads out of a page before it posts the next form.

/** The value of the form field `name` (an <input> or <textarea>) in `html`, entities decoded; null if absent. */
export function formField(html, name) {
  const escaped = name.replace(/[[\]\\^$.|?*+()]/g, '\\$&');
  for (const tag of html.match(/<input\b[^>]*>/gi) ?? []) {
    if (new RegExp(`\\bname=["']${escaped}["']`).test(tag)) {
      const value = /\bvalue=(["'])(.*?)\1/s.exec(tag);
      return decode(value ? value[2] : '');
    }
  }
  const area = new RegExp(`<textarea\\b[^>]*\\bname=["']${escaped}["'][^>]*>([\\s\\S]*?)</textarea>`, 'i').exec(html);
  return area ? decode(area[1]) : null;
}

function decode(text) {
  return text
    .replace(/&quot;/g, '"').replace(/&#0?39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');
}
