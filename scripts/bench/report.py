#!/usr/bin/env python3
"""Turn the samples of scripts/bench.sh into one table (stdout) and a JSON file.

usage: report.py MEASURES.tsv SAMPLES.tsv NOTES.tsv RUN.json OUT.json
MEASURES.tsv: name, unit, compare (ratio | added | value), target, direction (min | max | empty), description
SAMPLES.tsv:  name, setup (direct | regtrace | mitmproxy | mitmproxy-stream), value (one per round;
              "<N" or ">N" is a bound, for a set-up that ran out of time)
NOTES.tsv:    setup, text
Each cell is the median of its rounds, or the bound when a round gave one. "ratio" compares a proxy with direct (proxy / direct), "added"
subtracts direct from the proxy, "value" takes the proxy's own figure; the result is held against the
SPEC.md §7 target.
"""
import json
import statistics
import sys

SETUPS = ["direct", "regtrace", "mitmproxy", "mitmproxy-stream"]
PROXIES = SETUPS[1:]


def read_tsv(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def parse(text):
    """A sample: (value, bound) with bound "<", ">" or None."""
    if text[:1] in "<>":
        return float(text[1:]), text[0]
    return float(text), None


def summarise(values):
    """The median of the rounds; a bound wins, being the worst that was seen."""
    bounds = [v for v in values if v[1]]
    return bounds[0] if bounds else (statistics.median(v[0] for v in values), None)


def compared(compare, value, direct):
    if value is None:
        return None
    if compare == "value":
        return value
    if direct is None or direct[1] or (compare == "ratio" and direct[0] == 0):
        return None
    return (value[0] / direct[0] if compare == "ratio" else value[0] - direct[0]), value[1]


def met(result, target, direction):
    """True or False when the figure (or its bound) settles it against the target, else None."""
    if result is None or target is None or not direction:
        return None
    value, bound = result
    if bound is None:
        return value >= target if direction == "min" else value <= target
    if bound == "<" and value <= target:
        return direction == "max"
    if bound == ">" and value >= target:
        return direction == "min"
    return None


def cell(value):
    if value is None:
        return "-"
    number, bound = value if isinstance(value, tuple) else (value, None)
    return (bound or "") + (f"{number:.3f}" if abs(number) < 10 else f"{number:.1f}")


def as_json(value):
    return {"value": value[0], "bound": value[1]}


def main():
    measures_path, samples_path, notes_path, run_path, out_path = sys.argv[1:6]
    samples = {}
    for name, setup, value in read_tsv(samples_path):
        samples.setdefault((name, setup), []).append(parse(value))
    notes = [{"setup": setup, "text": text} for setup, text in read_tsv(notes_path)]
    with open(run_path) as f:
        run = json.load(f)

    measures = []
    for name, unit, compare, target, direction, description in read_tsv(measures_path):
        rounds = {s: samples[(name, s)] for s in SETUPS if (name, s) in samples}
        if not rounds:
            continue  # the measure was skipped (--no-docker)
        medians = {s: summarise(v) for s, v in rounds.items()}
        target_value = float(target) if target else None
        results = {}
        for proxy in PROXIES:
            result = compared(compare, medians.get(proxy), medians.get("direct"))
            if result is not None:
                results[proxy] = dict(as_json(result), met=met(result, target_value, direction))
        measures.append({"name": name, "unit": unit, "description": description, "compare": compare,
                         "target": target_value, "direction": direction or None,
                         "medians": {s: as_json(v) for s, v in medians.items()},
                         "rounds": {s: [as_json(x) for x in v] for s, v in rounds.items()},
                         "results": results})

    print_table(measures, run, notes)
    with open(out_path, "w") as f:
        json.dump({"run": run, "measures": measures, "notes": notes}, f, indent=2)
        f.write("\n")
    print(f"written to {out_path}")


def print_table(measures, run, notes):
    compare_text = {"ratio": "proxy/direct", "added": "proxy-direct", "value": "proxy"}
    head = ["measure", "unit"] + SETUPS + ["compared", "target"] + PROXIES
    rows = []
    for m in measures:
        target = ""
        if m["target"] is not None:
            target = (">= " if m["direction"] == "min" else "<= ") + cell(m["target"])
        verdicts = []
        for proxy in PROXIES:
            r = m["results"].get(proxy)
            if r is None:
                verdicts.append("-")
            else:
                verdicts.append(cell((r["value"], r["bound"])) +
                                ("" if r["met"] is None else " met" if r["met"] else " NOT met"))
        medians = m["medians"]
        rows.append([m["name"], m["unit"]] +
                    [cell((medians[s]["value"], medians[s]["bound"])) if s in medians else "-" for s in SETUPS] +
                    [compare_text[m["compare"]], target] + verdicts)
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    print(f"medians of {run['rounds']} round(s); {run['note']}")
    for r in [head] + rows:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    for m in measures:
        print(f"  {m['name']}: {m['description']}")
    for n in notes:
        print(f"  note, {n['setup']}: {n['text']}")


if __name__ == "__main__":
    main()
