// The playground's code editor: CodeMirror 6 with the languages tinirun runs.
// Built into ../tinirun/playground/static/vendor/editor.js by scripts/build-editor.
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, indentOnInput, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { Compartment, EditorSelection, EditorState, Prec } from "@codemirror/state";
import {
  drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap,
  lineNumbers, placeholder,
} from "@codemirror/view";
import { classHighlighter } from "@lezer/highlight";

// Editor modes, by the name a language's folder gives (`editor.mode` in /api/languages). Each
// is a chunk of its own, loaded the first time a snippet in that language is shown.
const MODES = {
  go: () => import("@codemirror/lang-go").then((m) => m.go()),
  javascript: () => import("@codemirror/lang-javascript").then((m) => m.javascript()),
  typescript: () => import("@codemirror/lang-javascript").then((m) => m.javascript({ typescript: true })),
  python: () => import("@codemirror/lang-python").then((m) => m.python()),
  rust: () => import("@codemirror/lang-rust").then((m) => m.rust()),
  shell: () => Promise.all([import("@codemirror/language"), import("@codemirror/legacy-modes/mode/shell")])
    .then(([language, mode]) => language.StreamLanguage.define(mode.shell)),
};
MODES.bash = MODES.shell;

// Colours come from the page's CSS variables, so the editor follows its light and dark modes.
const theme = EditorView.theme({
  "&": { color: "var(--editor-text)", backgroundColor: "var(--editor-bg)" },
  ".cm-content": { caretColor: "var(--editor-text)" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--editor-text)" },
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection":
    { backgroundColor: "var(--editor-selection)" },
  ".cm-gutters": {
    backgroundColor: "var(--editor-gutter-bg)", color: "var(--editor-gutter-text)",
    borderRight: "1px solid var(--border)",
  },
  ".cm-activeLine": { backgroundColor: "var(--editor-active-line)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--editor-active-line)", color: "var(--editor-text)" },
  ".cm-selectionMatch": { backgroundColor: "var(--editor-match)" },
  "&.cm-focused .cm-matchingBracket": { backgroundColor: "var(--editor-match)", outline: "1px solid var(--editor-gutter-text)" },
  ".cm-panels": { backgroundColor: "var(--panel)", color: "var(--text)" },
  ".cm-tooltip": { backgroundColor: "var(--panel)", color: "var(--text)", border: "1px solid var(--border)" },
  ".cm-diagnostic-error": { borderLeftColor: "var(--bad)" },
  ".cm-diagnostic-warning": { borderLeftColor: "var(--warn)" },
});

const loaded = new Map(); // mode name -> Promise of its language support
function loadMode(name) {
  if (!MODES[name]) return Promise.resolve([]);
  if (!loaded.has(name)) loaded.set(name, MODES[name]().catch(() => []));
  return loaded.get(name);
}

/**
 * An editor in `parent`. Options: doc, mode and indent (an editor mode's name and one level of
 * indentation), label (accessible name), onChange(code), onRun() for Ctrl/Cmd+Enter.
 * Returns {view, getCode, setCode, setLanguage(mode, indent), setProblems, goTo, focus}.
 */
export function createEditor(parent, options = {}) {
  const language = new Compartment();
  const indent = new Compartment();
  const run = options.onRun || (() => {});
  const extensions = [
    lineNumbers(),
    lintGutter(),
    highlightActiveLineGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    closeBrackets(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    theme,
    syntaxHighlighting(classHighlighter),
    Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => { run(); return true; } }])),
    keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap,
      indentWithTab]),
    language.of([]),
    indent.of(indentUnit.of(options.indent || "    ")),
    EditorView.contentAttributes.of({ "aria-label": options.label || "Code" }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged && options.onChange) options.onChange(update.state.doc.toString());
    }),
  ];
  if (options.placeholder) extensions.push(placeholder(options.placeholder));
  const view = new EditorView({
    parent,
    state: EditorState.create({ doc: options.doc || "", extensions }),
  });
  let wanted = null;
  const editor = {
    view,
    getCode: () => view.state.doc.toString(),
    setCode(code) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
    },
    /** Highlight as `mode` (loaded on first use) and indent with `unit`; resolves when shown. */
    async setLanguage(mode, unit = "    ") {
      wanted = mode;
      view.dispatch({ effects: indent.reconfigure(indentUnit.of(unit)) });
      const support = await loadMode(mode);
      if (wanted === mode) view.dispatch({ effects: language.reconfigure(support) });
    },
    /**
     * Mark problems: [{line, column, message, severity}] (lines and columns from 1; no column
     * marks the line). An empty list clears them.
     */
    setProblems(problems) {
      const doc = view.state.doc;
      const marks = [];
      for (const problem of problems) {
        if (problem.line < 1 || problem.line > doc.lines) continue;
        const line = doc.line(problem.line);
        let from = line.from;
        let to = line.to;
        if (problem.column) {
          from = Math.min(line.from + problem.column - 1, line.to);
          const word = view.state.wordAt(from);
          to = word && word.from === from ? word.to : Math.min(from + 1, line.to);
        }
        if (to <= from) to = Math.min(from + 1, doc.length);
        marks.push({ from, to, severity: problem.severity || "error", message: problem.message || "Error", source: problem.source });
      }
      view.dispatch(setDiagnostics(view.state, marks));
    },
    /** Put the cursor at `line` (and `column`), scroll there and focus the editor. */
    goTo(lineNumber, column = 1) {
      const doc = view.state.doc;
      const line = doc.line(Math.max(1, Math.min(lineNumber, doc.lines)));
      const at = Math.min(line.from + Math.max(0, (column || 1) - 1), line.to);
      view.dispatch({ selection: EditorSelection.cursor(at), scrollIntoView: true });
      view.focus();
    },
    focus: () => view.focus(),
  };
  if (options.mode) editor.setLanguage(options.mode, options.indent);
  return editor;
}
