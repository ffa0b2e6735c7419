"""The reliability guide points at tests that exist."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _referenced_tests(text):
    """(file, test) pairs; `::name` alone reuses the cell's last file."""
    pairs = []
    for line in text.splitlines():
        current = None
        for path, name in re.findall(
                r"`(tests/[\w/]+\.py)?(?:::(\w+))?`", line):
            current = path or current
            if name:
                pairs.append((current, name))
            elif path:
                pairs.append((path, None))
    return pairs


def test_every_bad_input_row_names_an_existing_test():
    text = (ROOT / "docs" / "reliability.md").read_text()
    table = text[text.index("## Bad input"):text.index(
        "## Interrupted training")]
    rows = [line for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| Input")
            and not line.startswith("| Request")]
    assert len(rows) >= 19
    for row in rows:
        assert _referenced_tests(row), f"row without a test: {row[:80]}"


def test_referenced_tests_exist():
    text = (ROOT / "docs" / "reliability.md").read_text()
    pairs = _referenced_tests(text)
    assert len(pairs) > 25
    for path, name in pairs:
        assert path is not None, name
        source = (ROOT / path).read_text()
        if name:
            assert re.search(rf"def {name}\(", source), f"{path}::{name}"


def test_readme_python_example_runs_as_written():
    """The README's second Python block, executed as a user would paste
    it (the first needs a user's table)."""
    import contextlib
    import io

    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(blocks[1], "README.md", "exec"), {})
    assert "'click'" in printed.getvalue() and "'auc'" in printed.getvalue()


def test_docs_pages_link_to_files_that_exist():
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([\w./-]+\.md)\)", page.read_text()):
            assert (page.parent / target).is_file(), f"{page.name}: {target}"
