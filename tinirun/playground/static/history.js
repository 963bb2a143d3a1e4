// The last runs of this browser (local storage): what was run, and how it ended.

const STORAGE = "tinirun.history";
export const HISTORY_SIZE = 20;

export function loadHistory() {
  try {
    const list = JSON.parse(localStorage.getItem(STORAGE) || "[]");
    return Array.isArray(list) ? list.slice(0, HISTORY_SIZE) : [];
  } catch {
    return [];
  }
}

/** Keep `entry` ({lang, code, args, stdin, dependencies, at, outcome}) first; returns the list. */
export function remember(entry) {
  const list = [entry, ...loadHistory()].slice(0, HISTORY_SIZE);
  try {
    localStorage.setItem(STORAGE, JSON.stringify(list));
  } catch {
    // Storage full or off: the history is a convenience, the run itself went fine.
  }
  return list;
}
