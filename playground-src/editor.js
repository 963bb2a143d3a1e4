// The playground's code editor: CodeMirror 6 with the languages tinirun runs.
// Built into ../tinirun/playground/static/vendor/editor.js by scripts/build-editor.
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { go } from "@codemirror/lang-go";
import { javascript } from "@codemirror/lang-javascript";
import { python } from "@codemirror/lang-python";
import { rust } from "@codemirror/lang-rust";
import {
  bracketMatching, indentOnInput, indentUnit, StreamLanguage, syntaxHighlighting,
} from "@codemirror/language";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { Compartment, EditorState, Prec } from "@codemirror/state";
import {
  drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap,
  lineNumbers, placeholder,
} from "@codemirror/view";
import { classHighlighter } from "@lezer/highlight";

// Language name (as the service names it) -> CodeMirror language support.
const LANGUAGES = {
  bash: () => StreamLanguage.define(shell),
  go: () => go(),
  javascript: () => javascript(),
  python: () => python(),
  rust: () => rust(),
  typescript: () => javascript({ typescript: true }),
};

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
});

function languageSupport(name) {
  const make = LANGUAGES[name];
  // gofmt indents with tabs; the others with four spaces.
  return [make ? make() : [], indentUnit.of(name === "go" ? "\t" : "    ")];
}

/**
 * An editor in `parent`. Options: doc, language, label (accessible name), onChange(code),
 * onRun() for Ctrl/Cmd+Enter. Returns {view, getCode, setCode, setLanguage, focus}.
 */
export function createEditor(parent, options = {}) {
  const language = new Compartment();
  const run = options.onRun || (() => {});
  const extensions = [
    lineNumbers(),
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
    language.of(languageSupport(options.language)),
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
  return {
    view,
    getCode: () => view.state.doc.toString(),
    setCode(code) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
    },
    setLanguage(name) {
      view.dispatch({ effects: language.reconfigure(languageSupport(name)) });
    },
    focus: () => view.focus(),
  };
}
