#!/usr/bin/env python3
"""Fails if the files of a Rust crate import each other in a cycle, or if a layer reaches
past the face another offers it (`LAYERS`: the call and room layers see media only
through `media/link.rs`).

Every path a file names through `crate::`, `super::` or `self::` (in `use` lines and in
code, outside `#[cfg(test)]` modules) is resolved to the module file it lands in; a file
that names another depends on it. A module depends on its own submodules' files only
through what it names, so `mod.rs` declaring `mod x;` is not an edge. Prints every cycle
(as a chain of files) and exits 1 if there is one.

    scripts/check-imports.py core/src        (scripts/test runs it, after --self-test)
"""
import os
import re
import sys

# (files under this folder, may import files under this one, only these of them)
LAYERS = [
    ("calls/", "media/", {"media/link.rs"}),
    ("rooms/", "media/", {"media/link.rs"}),
]

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")
GROUP = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", re.S)


def module_of(root, rel):
    """The module path (list) of a file under root."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


def strip_tests(text):
    """The text without `#[cfg(test)]` items (a test module's braces counted)."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        j = text.find("{", m.end())
        semi = text.find(";", m.end())
        if j < 0 or (0 <= semi < j):
            i = semi + 1 if semi >= 0 else len(text)
            continue
        depth = 0
        for k in range(j, len(text)):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    i = k + 1
                    break
        else:
            i = len(text)
    out.append(text[i:])
    return "".join(out)


def main(root):
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith(".rs"):
                rel = os.path.relpath(os.path.join(d, n), root)
                files[tuple(module_of(root, rel))] = rel
    edges = {rel: set() for rel in files.values()}

    def resolve(here, anchor, segs):
        if anchor == "crate":
            base = []
        elif anchor == "self":
            base = list(here)
        else:
            base = list(here[:-1])
            while segs and segs[0] == "super":
                base, segs = base[:-1], segs[1:]
        full = base + [s for s in segs if s != "self"]
        for n in range(len(full), -1, -1):
            if tuple(full[:n]) in files:
                return files[tuple(full[:n])]
        return None

    for mod, rel in files.items():
        text = open(os.path.join(root, rel), encoding="utf-8").read()
        text = re.sub(r"//[^\n]*", "", strip_tests(text))
        # A file that is `mod.rs` names its children as `self::x`; `super::` from `a/b.rs`
        # is `a`. `here` is the module the code is in.
        paths = []
        for g in GROUP.finditer(text):
            head = [s for s in g.group(2).split("::") if s]
            for item in re.split(r",", g.group(3)):
                item = item.strip().split(" as ")[0].strip()
                first = re.match(r"[A-Za-z_][A-Za-z0-9_]*", item)
                if first:
                    paths.append((g.group(1), head + [first.group(0)]))
        for m in PATH.finditer(GROUP.sub("", text)):
            if m.group(2) == "::{":
                continue
            paths.append((m.group(1), [s for s in m.group(2).split("::") if s]))
        for anchor, segs in paths:
            target = resolve(mod, anchor, segs)
            if target and target != rel and not is_ancestor(files, target, rel):
                edges[rel].add(target)

    broken = [
        (src, dst)
        for src, dsts in sorted(edges.items())
        for dst in sorted(dsts)
        for (layer, below, through) in LAYERS
        if src.startswith(layer) and dst.startswith(below) and dst not in through
    ]
    for src, dst in broken:
        print(f"layering: {src} imports {dst}; calls and rooms reach media only through media/link.rs")
    cycles = find_cycles(edges)
    for c in cycles:
        print("import cycle: " + " -> ".join(shortest_cycle(edges, c)))
        print(f"  ({len(c)} files import each other: {', '.join(c)})")
    print(f"{len(edges)} files, {sum(len(v) for v in edges.values())} imports, {len(cycles)} cycles, {len(broken)} layering breaks")
    return 1 if cycles or broken else 0


def is_ancestor(files, target, rel):
    """`target` is a parent module file of `rel` (a module naming its parent's items is
    how Rust nests; a parent's `mod.rs` declaring children is not counted either)."""
    tmod = [k for k, v in files.items() if v == target][0]
    rmod = [k for k, v in files.items() if v == rel][0]
    return len(tmod) < len(rmod) and rmod[: len(tmod)] == tmod and target.endswith(("mod.rs", "lib.rs"))


def shortest_cycle(edges, comp):
    """The shortest chain of imports from the component's first file back to it."""
    start, inside = comp[0], set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v]):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in inside and w not in prev:
                prev[w] = v
                queue.append(w)
    return comp + [comp[0]]


def find_cycles(edges):
    """The strongly connected components of more than one file (Tarjan), sorted."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def self_test():
    """The check finds a cycle it is shown (a.rs -> b/mod.rs -> a.rs through `super::`),
    and passes the same tree without it."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "b"))
        files = {
            "lib.rs": "mod a;\nmod b;\n",
            "a.rs": "use crate::b::Thing;\n",
            "b/mod.rs": "mod c;\npub struct Thing;\n",
            "b/c.rs": "use super::super::a::*;\n#[cfg(test)]\nmod tests { use crate::lib; }\n",
        }
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        # b/c.rs -> a.rs -> b/mod.rs: mod.rs declaring c is no import, so no cycle yet.
        assert main(d) == 0, "a tree without a cycle failed"
        with open(os.path.join(d, "b", "mod.rs"), "a") as f:
            f.write("fn f() { self::c::g(); }\n")
        assert main(d) == 1, "a cycle went unnoticed"
    print("self-test: a cycle is found, its absence passes")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "core/src"))
