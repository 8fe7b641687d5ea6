#!/usr/bin/env python3
"""Flags a lambda that captures by value inside a co_await/co_return/co_yield statement.

GCC 12 destroys such a lambda twice when it is a temporary of the co_await's full-expression: a
captured executor or shared_ptr then loses one reference too many, and what it owns is freed while
still in use. The gateway crashed that way once (docs/testing.md, "Compiler traps"). Capturing `this` or by reference is harmless (nothing to destroy); anything
else belongs in a named local, or in a function that is not a coroutine.

Usage: coroutine_captures.py FILE...   (exit 1 and one line per finding when something is found)
"""
import re
import sys

STATEMENT = re.compile(r"\bco_(await|return|yield)\b")
CAPTURE = re.compile(r"\[([^\[\]]*)\]\s*(?:\(|\{|mutable\b)")


def statement_end(text, i, stop_at_semicolon=True):
    """The index of the `;` ending the statement at `i`, or of the bracket closing the one open."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
            if depth < 0:
                return i
        elif c == ";" and depth == 0 and stop_at_semicolon:
            return i
        i += 1
    return i


def by_value(capture_list):
    for item in (part.strip() for part in capture_list.split(",")):
        if item and item != "this" and not item.startswith("&"):
            return item
    return None


def body_end(text, i):
    """The index past the lambda body whose capture list ends before `i`."""
    j = text.find("{", i)
    return len(text) if j < 0 else statement_end(text, j + 1, stop_at_semicolon=False) + 1


def main(paths):
    found = set()
    for path in paths:
        text = open(path, encoding="utf-8").read()
        for m in STATEMENT.finditer(text):
            end = statement_end(text, m.end())
            pos = m.end()
            # Only the lambdas of the statement itself: one inside a lambda's body is made when
            # that body runs, not as a temporary of the co_await.
            while (cap := CAPTURE.search(text, pos, end)) is not None:
                pos = body_end(text, cap.end() - 1)
                item = by_value(cap.group(1))
                if item:
                    line = text.count("\n", 0, cap.start()) + 1
                    found.add(f"{path}:{line}: lambda captures '{item}' by value in a co_await statement "
                              "(GCC 12 destroys it twice: make it a named local)")
    for finding in sorted(found):
        print(finding)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
