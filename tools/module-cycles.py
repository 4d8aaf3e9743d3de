#!/usr/bin/env python3
"""Reports module cycles inside each crate of the workspace.

A module is a file under `src/` (`a/b.rs` and `a/b/mod.rs` are `a::b`; `lib.rs`
and `main.rs` are the crate root). An edge A -> B is any path that A's source
names as `crate::B...`, `super::...` or `self::...` resolving to B, where B is
another module of the same crate (the longest module prefix of the path wins).
The crate root re-exporting its modules is not an edge (it is where the tree
is declared), nor is a parent declaring a child (`mod x;`). Inline `mod tests`
blocks belong to their file. Exit 1 when any crate has a cycle.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP_RE = re.compile(r"\buse\s+(crate|super|self)::\{([^;]*)\};", re.S)


def module_of(src: pathlib.Path, f: pathlib.Path):
    rel = f.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod":
        parts = parts[:-1]
    if parts in (["lib"], ["main"]):
        return ()
    return tuple(parts)


def strip_comments(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def resolve(mod, anchor, tail, modules):
    if anchor == "crate":
        base = []
    elif anchor == "self":
        base = list(mod)
    else:
        base = list(mod[:-1])
    parts = base + tail
    best = None
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in modules:
            best = tuple(parts[:n])
            break
    return best


def edges_for(mod, text, modules, is_dir_mod):
    # `super` in a/b/mod.rs (module a::b) means a; in a/b.rs also a.
    out = set()
    text = strip_comments(text)
    found = []
    for m in USE_GROUP_RE.finditer(text):
        anchor, body = m.group(1), m.group(2)
        for item in re.split(r",", re.sub(r"\{[^}]*\}", "", body)):
            item = item.strip().split(" as ")[0].strip()
            if item:
                found.append((anchor, [p for p in item.split("::") if p]))
    for m in PATH_RE.finditer(text):
        found.append((m.group(1), [p for p in m.group(2).split("::") if p]))
    for anchor, tail in found:
        target = resolve(mod, anchor, tail, modules)
        if target is None or target == mod:
            continue
        # a module naming its own descendants or ancestors' re-exports is fine
        # only when it is not a real use; we keep every real use.
        if target == () :
            continue
        out.add(target)
    return out


def cycles(graph):
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
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
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            strong(v)
    return sccs


def main():
    bad = 0
    crates = sorted(p.parent for p in ROOT.glob("crates/*/Cargo.toml"))
    for crate in crates:
        src = crate / "src"
        if not src.is_dir():
            continue
        files = sorted(src.rglob("*.rs"))
        modules = {module_of(src, f): f for f in files}
        graph = {}
        for mod, f in modules.items():
            if mod == ():
                continue
            graph[mod] = edges_for(mod, f.read_text(), modules, f.name == "mod.rs")
            # a parent module that only declares/re-exports its children is the tree, not a use
            graph[mod] = {t for t in graph[mod] if t[: len(mod)] != mod or t == mod}
        found = cycles(graph)
        name = crate.name
        if found:
            bad += 1
            for comp in found:
                print(f"{name}: cycle among " + ", ".join("::".join(m) for m in sorted(comp)))
        else:
            print(f"{name}: {len(modules)} modules, no cycle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
