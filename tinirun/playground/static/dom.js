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

/** The page's languages: name, extensions, example, function_file, function_sample. */
export function languages() {
  return JSON.parse($("languages").textContent);
}

/** Words of a dependencies field (spaces or commas between them). */
export function words(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}
