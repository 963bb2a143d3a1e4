"""language.toml is read with a schema that forbids unknown keys; a folder is a language."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tinirun.languages import BUILTIN_DIR, LanguageError, get_language, load_languages
from tinirun.runner.images import install_script


def copy_language(tmp: Path, name: str = "bash") -> Path:
    folder = tmp / name
    shutil.copytree(BUILTIN_DIR / name, folder)
    return folder


def edit(folder: Path, old: str, new: str) -> Path:
    toml = folder / "language.toml"
    text = toml.read_text()
    assert old in text
    toml.write_text(text.replace(old, new, 1))
    return toml


def test_a_misspelt_key_names_the_file_and_the_key(tmp_path: Path) -> None:
    toml = edit(copy_language(tmp_path), "source =", "sourse =")
    with pytest.raises(LanguageError) as caught:
        load_languages(tmp_path)
    message = str(caught.value)
    assert str(toml) in message
    assert "sourse: unknown key" in message
    assert "source: Field required" in message


def test_an_unknown_key_in_a_table_is_refused(tmp_path: Path) -> None:
    edit(copy_language(tmp_path), "[dependencies]\n", "[dependencies]\nkeep_ordr = true\n")
    with pytest.raises(LanguageError, match=r"dependencies\.keep_ordr: unknown key"):
        load_languages(tmp_path)


def test_a_diagnostics_pattern_needs_a_line_and_no_python_only_syntax(tmp_path: Path) -> None:
    folder = copy_language(tmp_path)
    toml = folder / "language.toml"
    original = toml.read_text()
    toml.write_text(original + "\n[[diagnostics]]\npattern = 'main.sh: (?P<message>.+)'\n")
    with pytest.raises(LanguageError, match=r"diagnostics\.1\.pattern: .*needs the named group"):
        load_languages(tmp_path)
    toml.write_text(original + "\n[[diagnostics]]\npattern = '(?i)line (?P<line>\\d+)'\n")
    with pytest.raises(LanguageError, match="Python-only syntax"):
        load_languages(tmp_path)


def test_the_package_manager_must_have_a_grammar(tmp_path: Path) -> None:
    edit(copy_language(tmp_path), 'manager = "apt"', 'manager = "curl"')
    with pytest.raises(LanguageError, match="dependencies.manager: 'curl' is not one of"):
        load_languages(tmp_path)


def test_the_folder_must_hold_what_the_toml_names(tmp_path: Path) -> None:
    folder = copy_language(tmp_path)
    (folder / "example.sh").unlink()
    with pytest.raises(LanguageError, match="no file 'example.sh'"):
        load_languages(tmp_path)


def test_a_new_folder_is_a_new_language(tmp_path: Path) -> None:
    folder = copy_language(tmp_path)
    folder.rename(tmp_path / "zsh")
    edit(tmp_path / "zsh", 'name = "bash"', 'name = "zsh"')
    edit(tmp_path / "zsh", 'extensions = ["sh", "bash"]', 'extensions = ["zsh"]')
    copy_language(tmp_path, "python")
    found = load_languages(tmp_path)
    assert sorted(found) == ["python", "zsh"]
    assert found["zsh"].extensions == ("zsh",)
    assert found["zsh"].example_code == (BUILTIN_DIR / "bash" / "example.sh").read_text()


def test_two_languages_may_not_claim_one_extension(tmp_path: Path) -> None:
    copy_language(tmp_path)
    shutil.copytree(BUILTIN_DIR / "bash", tmp_path / "sh")
    edit(tmp_path / "sh", 'name = "bash"', 'name = "sh"')
    with pytest.raises(LanguageError, match="'sh' is also bash's"):
        load_languages(tmp_path)


def test_rust_versions_become_cargo_style_by_its_folders_rule() -> None:
    script = install_script(get_language("rust"),
                            ["serde=1.0", "--features", "serde/derive", "rand@0.8", "--features=x"])
    assert "cargo add serde@1.0 --features serde/derive rand@0.8 --features=x" in script
    # Other languages' entries go through as written.
    assert install_script(get_language("python"), ["a=1"]).endswith(" a=1")


def test_editor_hints_are_data() -> None:
    assert get_language("go").editor.indent == "\t"
    assert get_language("python").editor.indent == "    "
    assert get_language("typescript").editor.mode == "typescript"


def test_a_compile_command_that_needs_a_shell_stays_in_the_script() -> None:
    import dataclasses

    from tinirun.runner import boot

    typescript = get_language("typescript")
    for command in ("cc main.c && ./a.out", "esbuild $X", "cd src; make", "A=1 make",
                    "esbuild main.ts > out.js", "tsc *.ts", "make ~/x"):
        spec = typescript.spec.model_copy(update={"compile": command})
        language = dataclasses.replace(typescript, spec=spec)
        assert boot.compile_argv(language) is None, command
        assert boot.prepare_script(language).endswith(f"( {command} ) || exit $?\n")
    spec = typescript.spec.model_copy(update={"compile": "esbuild 'a b.ts' --x=y"})
    assert boot.compile_argv(dataclasses.replace(typescript, spec=spec)) == [
        "esbuild", "a b.ts", "--x=y"]


def test_the_type_check_runs_before_the_compile_only_when_asked() -> None:
    from tinirun.runner.boot import run_script

    typescript = get_language("typescript")
    plain = run_script(typescript)
    checked = run_script(typescript, typecheck=True)
    assert "tsc " not in plain and "esbuild " in plain
    assert checked.index("tsc --noEmit") < checked.index("esbuild ")
    assert run_script(get_language("python"), typecheck=True) == \
        run_script(get_language("python"))


def test_a_launcher_that_compiles_gets_the_compile_step_in_the_payload() -> None:
    import dataclasses
    import io
    import tarfile

    from tinirun.runner import boot

    typescript = get_language("typescript")
    assert typescript.launcher is not None and typescript.launcher.compiles
    assert boot.launcher_boot(typescript, typescript.run) is not None
    # The type check in the script, the plain compile command as argv (no shell for it).
    checked = boot.prepare_script(typescript, typecheck=True)
    assert "tsc --noEmit" in checked and "esbuild " not in checked
    assert "--enable-source-maps" not in checked  # the program is not run by it
    assert boot.prepare_script(typescript) == ""
    argv = boot.compile_argv(typescript)
    assert argv is not None and argv[0] == "esbuild" and "--outfile=.main.mjs" in argv
    assert boot.prepare_script(get_language("javascript")) == ""
    assert boot.compile_argv(get_language("javascript")) is None
    with tarfile.open(fileobj=io.BytesIO(boot.pack({}, "", 1, None, prepare="x",
                                                   compile=["a b", "c"]).data)) as tar:
        assert tar.extractfile(boot.PREPARE_FILE).read() == b"x"  # type: ignore[union-attr]
        assert tar.extractfile(boot.COMPILE_FILE).read() == b"a b\0c\0"  # type: ignore[union-attr]
    # Its compile prelude (esbuild's service) is in the boots that compile, not the function's.
    assert typescript.launcher.compile_prelude
    assert typescript.launcher.compile_prelude in " ".join(
        boot.launcher_boot(typescript, typescript.run) or [])
    assert typescript.launcher.compile_prelude not in " ".join(
        boot.launcher_boot(typescript, typescript.spec.function.run) or [])
    # A launcher that does not run the compile step is not used for a language that compiles.
    plain = typescript.launcher.model_copy(update={"compiles": False})
    spec = typescript.spec.model_copy(update={"launcher": plain})
    assert boot.launcher_boot(dataclasses.replace(typescript, spec=spec),
                              typescript.run) is None


def test_typescript_image_starts_with_javascripts_steps() -> None:
    # Copied on purpose (a Dockerfile has no include): the same first steps, so the engine
    # builds Node's layers once for both images.
    def steps(language: str) -> list[str]:
        text = get_language(language).dockerfile.replace("\\\n", " ")
        return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]

    javascript, typescript = steps("javascript"), steps("typescript")
    assert typescript[:len(javascript)] == javascript
