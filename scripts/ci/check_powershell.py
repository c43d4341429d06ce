"""Syntax check of the PowerShell kit with the tree-sitter PowerShell grammar.

Usage: python3 check_powershell.py FILE...

Parses each file and reports every ERROR or MISSING node as `file:line:col: ...`. Exit codes:
0 every file parsed cleanly (apart from the known false positives below), 1 syntax errors,
2 usage error or unreadable file. No time limit of its own (parsing a few files takes
milliseconds); the CI script that calls it bounds it.

The grammar (tree-sitter-powershell 0.26.4) is not PowerShell's own parser, so it can reject
valid code. Known false positive: comma-separated command arguments written with spaces
(`Export-ModuleMember -Function A, B, C`) are reported as a syntax error; write an array
literal instead (`-Function @('A', 'B', 'C')`, same meaning). Any other false positive may be
allowed with a `# ps-syntax: allow <reason>` comment on the reported line.
"""

import sys

import tree_sitter_powershell
from tree_sitter import Language, Parser

ALLOW = "# ps-syntax: allow"


def problems(tree, lines):
    """Yields (line, column, text) for each ERROR and MISSING node not allowed by a comment."""
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            row, col = node.start_point
            line = lines[row] if row < len(lines) else ""
            if ALLOW not in line:
                kind = f"missing {node.type}" if node.is_missing else "syntax error"
                snippet = line.strip()[:100]
                yield row + 1, col + 1, f"{kind}: {snippet}"
            continue
        stack.extend(reversed(node.children))


def main(paths):
    if not paths:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    parser = Parser(Language(tree_sitter_powershell.language()))
    failed = 0
    for path in paths:
        try:
            with open(path, "rb") as handle:
                source = handle.read()
        except OSError as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 2
        text = source.decode("utf-8-sig", errors="replace")
        tree = parser.parse(text.encode("utf-8"))
        found = list(problems(tree, text.splitlines()))
        for line, col, message in found:
            print(f"{path}:{line}:{col}: {message}")
        failed += bool(found)
    print(f"{len(paths) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
