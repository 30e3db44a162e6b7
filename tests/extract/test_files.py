"""discover() and extract_file(): which files are read, and bad input never raising."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from dbsafe.extract.files import (
    ProjectFiles,
    discover,
    discover_named,
    display_path,
    extract_file,
    not_read,
)


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _names(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def test_discover_skips_tooling_dirs_gitignored_and_excluded(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            ".gitignore": "build/\n*.gen.sql\n",
            "app/db.py": "",
            "app/web.ts": "",
            "app/README.md": "",
            "app/sub/.gitignore": "local.sql\n!keep.gen.sql\n",
            "app/sub/local.sql": "",
            "app/sub/keep.gen.sql": "",
            "app/sub/other.gen.sql": "",
            "build/out.sql": "",
            "node_modules/x/y.js": "",
            ".venv/lib/z.py": "",
            "env/pyvenv.cfg": "",
            "env/lib/site.py": "",
            "app/__pycache__/db.py": "",
            "legacy/old.sql": "",
            "schema.sql": "",
        },
    )
    found = discover([tmp_path], root=tmp_path, exclude=["legacy/"])
    assert _names(found, tmp_path) == [
        "app/db.py",
        "app/sub/keep.gen.sql",
        "app/web.ts",
        "schema.sql",
    ]


def test_explicit_files_bypass_gitignore_but_not_exclude(tmp_path: Path) -> None:
    _write(tmp_path, {".gitignore": "*.sql\n", "a.sql": "", "b.sql": "", "c.txt": ""})
    paths = [tmp_path / "b.sql", tmp_path / "a.sql", tmp_path / "c.txt", tmp_path / "a.sql"]
    found = discover(paths, root=tmp_path, exclude=["b.sql"])
    assert _names(found, tmp_path) == ["a.sql"]


def test_extract_file_dispatches_and_paths_are_root_relative(tmp_path: Path) -> None:
    _write(tmp_path, {"db/x.sql": "SELECT 1; SELECT 2", "app/q.py": 'c.execute("SELECT a FROM b")'})
    sql = extract_file(tmp_path / "db/x.sql", root=tmp_path)
    assert [f.path for f in sql.fragments] == ["db/x.sql", "db/x.sql"]
    py = extract_file(tmp_path / "app/q.py", root=tmp_path)
    assert [(f.path, f.origin) for f in py.fragments] == [("app/q.py", "python")]


def test_path_outside_root_is_kept_as_given(tmp_path: Path) -> None:
    _write(tmp_path, {"x.sql": "SELECT 1"})
    result = extract_file(tmp_path / "x.sql", root=tmp_path / "elsewhere")
    assert result.fragments[0].path == (tmp_path / "x.sql").as_posix()


def test_binary_file_is_skipped(tmp_path: Path) -> None:
    _write(tmp_path, {"blob.sql": b"SELECT\x00\x01"})
    result = extract_file(tmp_path / "blob.sql", root=tmp_path)
    assert result.fragments == () and result.skipped[0].reason == "binary file"


def test_a_script_holding_a_nul_byte_where_javascript_allows_one_is_read(tmp_path: Path) -> None:
    # Mirlo's `src/api.ts` (a NUL in a comment) and Dokploy's vault (`${provider}\0${ref}`) were
    # skipped as binary files; node runs them. tree-sitter ends a token at a NUL: the query
    # after the template literal, the comment, the string and the regex is read all the same.
    _write(tmp_path, {"api.ts": (
        b"// ID3 padding: \0\0\0\0\n"
        b"const key = `${provider}\0${ref}`;\n"
        b"const pad = 'a\0b'.replace(/\0+$/, '');\n"
        b"const rows = await sql`SELECT id FROM notes`;\n"
        b"const odd = await sql`SELECT id FROM notes WHERE body = '\0'`;\n"
        b"const notes = await supabase.from('notes').select('id');\n")})
    result = extract_file(tmp_path / "api.ts", root=tmp_path)
    assert [f.sql for f in result.fragments] == ["SELECT id FROM notes"]
    assert [r.target.sql for r in result.requests] == ["notes"]  # type: ignore[attr-defined]
    # a query holding one is not sent as written (a C string ends there): not judged
    assert [(s.location.line, s.location.column, s.reason) for s in result.skipped] == [
        (5, 58, "SQL holding a NUL byte")]


@pytest.mark.parametrize(("name", "data", "line", "reason"), [
    # NULs in code: UTF-16 without a BOM, which decodes as UTF-8; a binary one
    ("utf16.js", "const a = 1;\n".encode("utf-16-le"), 1, "binary file"),
    ("code.js", b"const a = 1;\nconst\0b = 2;\n", 2, "binary file"),
    ("blob.ts", b"\x89PNG\0\xff\xfe", 1, "binary file"),
    # Python refuses a NUL anywhere (3.11 and later; earlier ones stop reading at it)
    ("vault.py", b"KEY = 'a'\nSEP = '\0'\n", 2,
     "holds a NUL byte, which Python refuses (source code cannot contain null bytes)"),
    ("dump.sql", b"SELECT 1;\n-- \0\n", 1, "binary file"),
])
def test_a_nul_byte_javascript_does_not_allow_is_still_a_skip(
        tmp_path: Path, name: str, data: bytes, line: int, reason: str) -> None:
    _write(tmp_path, {name: data})
    (skip,) = extract_file(tmp_path / name, root=tmp_path).skipped
    assert (skip.location.line, skip.reason) == (line, reason) and not_read(skip.reason)


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE], ids=["le", "be"])
def test_utf16_file_is_skipped_as_utf16_not_binary(tmp_path: Path, bom: bytes) -> None:
    # PowerShell 5's `pg_dump > dump.sql` and SSMS save UTF-16: say what it is, not "binary".
    encoding = "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"
    _write(tmp_path, {"dump.sql": bom + "SELECT 1;\n".encode(encoding)})
    (skip,) = extract_file(tmp_path / "dump.sql", root=tmp_path).skipped
    assert skip.reason == "UTF-16 text, not UTF-8 (save it as UTF-8)" and not_read(skip.reason)


def test_invalid_utf8_is_skipped_with_its_line(tmp_path: Path) -> None:
    _write(tmp_path, {"bad.py": b"x = 1\ny = '\xff'\n"})
    (skip,) = extract_file(tmp_path / "bad.py", root=tmp_path).skipped
    assert skip.location.line == 2 and "UTF-8" in skip.reason


def test_huge_file_is_skipped_without_reading(tmp_path: Path) -> None:
    _write(tmp_path, {"dump.sql": "SELECT 1;\n" * 200})
    (skip,) = extract_file(tmp_path / "dump.sql", root=tmp_path, max_bytes=1000).skipped
    assert skip.reason == "larger than max-file-size, 2.0 KB > 1000 bytes"


# hotmess-globe's `dist2/assets/ModerationPage-CXDlRe6H.js` (Vite's output, committed, `dist`
# alone git-ignored), cut down: the request of its source `src/pages/ModerationPage.jsx`.
_BUNDLE = ('import{s as a,j as e}from"./index-BPQbz3xK.js";function P(){const[r,s]=a.useState([]);'
           'return a.useEffect(()=>{a.supabase.from("moderation_queue").select("*")'
           '.eq("status","pending").then(({data:t})=>s(t||[]))},[]),'
           'e.jsx("div",{className:"p-4",children:r.map(t=>e.jsx("p",{children:t.id},t.id))})}'
           + "".join(f'function Q{i}(){{return e.jsx("span",{{className:"m-{i}",children:{i}}})}}'
                     for i in range(8))
           + 'export{P as default};\n')
# A module written by hand as one line, no newline at its end: it averages over 110
# characters too, but no line is as long as a bundler's; it is read.
_ONE_LONG_QUERY = ('export const pending = () => supabase.from("moderation_queue").select("*")'
                   '.eq("status", "pending").order("created_at", { ascending: false });')
_SOURCE = """import { supabase } from '@/lib/supabase';

export async function load() {
  const { data } = await supabase
    .from('moderation_queue')
    .select('*')
    .eq('status', 'pending');
  return data;
}
"""


def test_minified_javascript_is_skipped_its_source_read(tmp_path: Path) -> None:
    """A bundler's output committed beside its source holds copies of its requests (9 of
    hotmess-globe's errors were in `dist2/` and `dist_old/`): JavaScript whose lines average
    over 110 characters (GitHub linguist's test for minified files) is skipped; the source
    with the same request, TypeScript written on one long line, and a module of one
    hand-written line (over 110 characters, none as long as a bundler's), are read."""
    _write(tmp_path, {"dist2/assets/ModerationPage-CXDlRe6H.js": _BUNDLE,
                      "src/pages/moderation.js": _SOURCE,
                      "src/pages/one-line.ts": _BUNDLE,
                      "src/pages/one-query.js": _ONE_LONG_QUERY})
    (skip,) = extract_file(tmp_path / "dist2/assets/ModerationPage-CXDlRe6H.js",
                           root=tmp_path).skipped
    assert skip.reason.startswith("minified JavaScript") and not not_read(skip.reason)
    for source in ("src/pages/moderation.js", "src/pages/one-line.ts",
                   "src/pages/one-query.js"):
        result = extract_file(tmp_path / source, root=tmp_path)
        assert result.skipped == () and result.requests, source


def test_python_syntax_error_is_a_skip(tmp_path: Path) -> None:
    _write(tmp_path, {"broken.py": "def f(:\n"})
    result = extract_file(tmp_path / "broken.py", root=tmp_path)
    assert result.fragments == () and "syntax error" in result.skipped[0].reason


def test_missing_file_is_a_skip(tmp_path: Path) -> None:
    result = extract_file(tmp_path / "gone.sql", root=tmp_path)
    assert "cannot read" in result.skipped[0].reason


def test_bom_is_not_a_column(tmp_path: Path) -> None:
    _write(tmp_path, {"bom.sql": "\ufeffSELECT 1"})
    assert extract_file(tmp_path / "bom.sql", root=tmp_path).fragments[0].column == 1


def test_script_files_are_read_by_the_javascript_extractor(tmp_path: Path) -> None:
    _write(tmp_path, {"a.ts": "supabase.from('x').select()"})
    result = extract_file(tmp_path / "a.ts", root=tmp_path)
    assert result.skipped == ()
    assert [r.target.sql for r in result.requests] == ["x"]  # type: ignore[attr-defined]


def test_gitignore_above_the_walked_directory_still_applies(tmp_path: Path) -> None:
    _write(tmp_path, {".gitignore": "*.gen.sql\n", "app/sub/a.sql": "", "app/sub/b.gen.sql": ""})
    found = discover([tmp_path / "app" / "sub"], root=tmp_path)
    assert _names(found, tmp_path) == ["app/sub/a.sql"]


def test_tool_caches_are_skipped(tmp_path: Path) -> None:
    _write(tmp_path, {".dbsafe_cache/x.sql": "", ".mypy_cache/y.py": "", ".tox/z.py": "",
                      "app/q.sql": ""})
    assert _names(discover([tmp_path], root=tmp_path), tmp_path) == ["app/q.sql"]


def test_symlinks_to_directories_are_not_followed_and_to_files_are(tmp_path: Path) -> None:
    _write(tmp_path, {"outside/o.sql": "", "proj/app/a.sql": "", "proj/db/real.sql": ""})
    app = tmp_path / "proj" / "app"
    (app / "linked_dir").symlink_to(tmp_path / "outside", target_is_directory=True)
    (app / "linked.sql").symlink_to(tmp_path / "proj" / "db" / "real.sql")
    (app / "outside.sql").symlink_to(tmp_path / "outside" / "o.sql")
    named = discover_named([app], root=tmp_path / "proj")
    # A linked file is shown as where it really is: under the root, or else as given.
    assert [name for _, name in named] == [
        "app/a.sql", "db/real.sql", (app / "outside.sql").as_posix()]


def test_discover_named_gives_display_path_for_every_way_of_naming_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, {"proj/app/a.sql": "", "proj/app/sub/b.py": "", "proj/other.sql": "",
                      "elsewhere/c.sql": ""})
    (tmp_path / "proj" / "app" / "via_link.sql").symlink_to(tmp_path / "proj" / "other.sql")
    monkeypatch.chdir(tmp_path / "proj" / "app")
    root = Path("..")
    for paths in ([Path(".")], [Path("sub")], [Path("../app")], [Path("..")],
                  [Path("a.sql"), Path("../other.sql"), Path("../../elsewhere/c.sql")],
                  [Path("../../elsewhere")], [tmp_path / "proj"]):
        named = discover_named(paths, root=root)
        assert named, paths
        assert [name for _, name in named] == [display_path(Path(p), root) for p, _ in named]
        assert [Path(p) for p, _ in named] == discover(paths, root=root)
        assert [p for p, _ in named] == [os.fspath(p) for p in discover(paths, root=root)]


def test_the_project_walked_after_a_subfolder_is_the_project_walked_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What validate's project-wide indexes read on a run given a folder: the project's walk
    # takes the folders the run's walk listed as they were listed, and finds what a walk of
    # the project alone finds (a folder it would not enter stays out, even one the run named).
    _write(tmp_path, {
        "proj/.gitignore": "build/\n*.gen.ts\n!keep.gen.ts\n",
        "proj/web/src/a.ts": "", "proj/web/src/x.gen.ts": "", "proj/web/src/keep.gen.ts": "",
        "proj/web/.gitignore": "/local/\n", "proj/web/local/l.ts": "",
        "proj/web/src/local/m.ts": "", "proj/web/node_modules/pg/index.js": "",
        "proj/build/b.py": "", "proj/worker/w.py": "", "outside/o.sql": ""})
    proj = tmp_path / "proj"
    (proj / "web" / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    (proj / "alias").symlink_to(proj / "web", target_is_directory=True)
    monkeypatch.chdir(proj)
    root = Path(".")
    alone = discover_named([root], root=root)
    assert [name for _, name in alone] == [
        "web/src/a.ts", "web/src/keep.gen.ts", "web/src/local/m.ts", "worker/w.py"]
    for paths in ([Path("web")], [Path("web/src"), Path("worker/w.py")], [Path("build")],
                  [Path("alias")], [Path("web/linked")], [proj / "web"], [Path(".")],
                  [Path("web/node_modules")]):
        walk = ProjectFiles(paths, root=root)
        assert walk.files == discover_named(paths, root=root), paths
        assert walk.project() == alone, paths


def test_a_gitignore_governing_many_paths_decides_each_as_its_last_matching_pattern(
        tmp_path: Path) -> None:
    # Past a few dozen paths a `.gitignore`'s patterns are first tested as one regex: a path
    # it matches is still decided by pathspec, pattern by pattern (negations, folders).
    files = {".gitignore": "*.gen.ts\n!keep*.gen.ts\nout/\n/top.sql\n# comment\n"}
    for i in range(40):
        files |= {f"src/m{i}.ts": "", f"src/m{i}.gen.ts": "", f"src/keep{i}.gen.ts": "",
                  f"src/out/o{i}.ts": "", f"sub/top.sql{i}.sql": ""}
    files |= {"top.sql": "", "sub/top.sql": ""}
    _write(tmp_path, files)
    found = _names(discover([tmp_path], root=tmp_path), tmp_path)
    assert found == sorted(
        [*(f"src/m{i}.ts" for i in range(40)), *(f"src/keep{i}.gen.ts" for i in range(40)),
         "sub/top.sql", *(f"sub/top.sql{i}.sql" for i in range(40))],
        key=lambda p: p.split("/"))
