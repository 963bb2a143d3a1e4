// Small DOM helpers: element creation without innerHTML (no markup injection from output).

/** An element with attributes and children (strings become text nodes). */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) element.setAttribute(name, value);
  }
  element.append(...children.filter((c) => c !== null && c !== undefined));
  return element;
}

export const $ = (id) => document.getElementById(id);

/** True for Ctrl+Enter, or Cmd+Enter on a Mac. */
export const isRunShortcut = (event) => event.key === "Enter" && (event.ctrlKey || event.metaKey);

/** The page's languages: name, extensions, example, mode, indent, function_file, function_sample. */
export function languages() {
  return JSON.parse($("languages").textContent);
}

/** Words of a dependencies field (spaces or commas between them). */
export function words(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

/**
 * A program's arguments as a shell would split them, without a shell's expansions: words
 * between spaces, and '...' or "..." (with \" inside) keep spaces.
 */
export function argv(text) {
  const out = [];
  let word = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = c === "'" ? text.indexOf("'", i + 1) : findQuote(text, i + 1);
      const inner = text.slice(i + 1, end < 0 ? text.length : end);
      word = (word ?? "") + (c === '"' ? inner.replace(/\\(["\\])/g, "$1") : inner);
      i = end < 0 ? text.length : end;
    } else if (/\s/.test(c)) {
      if (word !== null) out.push(word);
      word = null;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== null) out.push(word);
  return out;
}

function findQuote(text, from) {
  for (let i = from; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}
