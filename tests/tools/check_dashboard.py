#!/usr/bin/env python3
"""tests/tools/check_dashboard.py DASHBOARD.json SCRAPE [DOC.md]

Every query of a Grafana dashboard uses only metrics a real scrape of the
coordinator exports (histograms by their _bucket/_sum/_count series), every
panel has a query, and (with DOC.md) every exported metric family is
described there. Prints what is wrong and exits 1, else exits 0."""
import json
import re
import sys


def exported(scrape):
    names = {}
    for line in open(scrape, encoding="utf-8"):
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            names[m.group(1)] = m.group(2)
    series = set()
    for name, kind in names.items():
        series.add(name)
        if kind == "histogram":
            series.update(name + s for s in ("_bucket", "_sum", "_count"))
    return names, series


def exprs(dash):
    out = []
    for p in dash.get("panels", []):
        targets = p.get("targets") or []
        if not targets:
            out.append((p.get("title", "?"), ""))
        for t in targets:
            out.append((p.get("title", "?"), t.get("expr", "")))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query":
            out.append(("variable " + v.get("name", "?"), q or ""))
    return out


def main():
    dash = json.load(open(sys.argv[1], encoding="utf-8"))
    families, series = exported(sys.argv[2])
    errors = []
    used = set()
    for where, e in exprs(dash):
        if not e.strip():
            errors.append(f"{where}: no query")
            continue
        names = set(re.findall(r"\bferry_[a-z0-9_]+", e))
        if not names:
            errors.append(f"{where}: query uses no ferry_ metric: {e}")
        for n in names:
            used.add(n)
            if n not in series:
                errors.append(f"{where}: {n} is not exported by the coordinator")
    if len(sys.argv) > 3:
        doc = open(sys.argv[3], encoding="utf-8").read()
        for f in sorted(families):
            if f"`{f}`" not in doc:
                errors.append(f"{sys.argv[3]}: metric {f} is not described")
    for e in errors:
        print(e)
    print(f"{len(used)} metric name(s) used, {len(families)} exported, {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
