#!/usr/bin/python3
"""Draws a voxgrad Chrome trace (voxgrad::profiler::write_chrome_trace, e.g.
an example's profile_trace.json under VOXGRAD_PROFILE=1) as an SVG timeline:
one band per thread, nested events stacked downwards, coloured by kind and
phase (forward ops blue, backward ops orange, backward nodes red, modules
green, user events grey), the longest op names written inside their boxes.

    /usr/bin/python3 tools/trace_to_svg.py TRACE.json OUT.svg [--steps K]

--steps K keeps the first K "train_step" events (default 1) and the events
inside them, so the picture shows whole steps at a readable scale. Only the
Python standard library is used (the machine has no matplotlib).
"""
import argparse
import html
import json
import sys

COLOURS = {("op", "forward"): "#4e79a7", ("op", "backward"): "#f28e2b",
           ("backward", "backward"): "#e15759",
           ("backward", "forward"): "#e15759",
           ("module", "forward"): "#59a14f", ("module", "backward"): "#59a14f",
           ("user", "forward"): "#bab0ac", ("user", "backward"): "#bab0ac"}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("trace")
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--width", type=int, default=1200)
    a = p.parse_args()
    with open(a.trace) as f:
        events = [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X"]
    if not events:
        sys.exit("trace_to_svg: %s has no events" % a.trace)
    steps = sorted((e for e in events if e["name"] == "train_step"),
                   key=lambda e: e["ts"])[:max(1, a.steps)]
    if steps:
        t0 = steps[0]["ts"]
        t1 = steps[-1]["ts"] + steps[-1]["dur"]
        events = [e for e in events if e["ts"] >= t0 and
                  e["ts"] + e["dur"] <= t1]
    else:
        t0 = min(e["ts"] for e in events)
        t1 = max(e["ts"] + e["dur"] for e in events)
    span = max(t1 - t0, 1e-9)
    # Depth of each event inside its thread: how many open events contain it.
    rows, lanes = [], {}
    for tid in sorted({e["tid"] for e in events}):
        evs = sorted((e for e in events if e["tid"] == tid),
                     key=lambda e: (e["ts"], -e["dur"]))
        stack, depth_max = [], 0
        for e in evs:
            while stack and stack[-1] <= e["ts"]:
                stack.pop()
            rows.append((tid, len(stack), e))
            depth_max = max(depth_max, len(stack))
            stack.append(e["ts"] + e["dur"])
        lanes[tid] = depth_max + 1
    left, row_h, gap, W = 70, 16, 14, a.width
    y_of, y = {}, 30
    for tid in sorted(lanes):
        y_of[tid] = y
        y += lanes[tid] * row_h + gap
    H = y + 40
    sx = (W - left - 10) / span
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="10">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="18" font-size="12">voxgrad::profiler trace, %s '
           '(%.1f ms)</text>' % (left, html.escape(a.trace.split("/")[-1]),
                                 span / 1000)]
    for tid, first_y in y_of.items():
        out.append('<text x="4" y="%d">thread %d</text>' % (first_y + 11, tid))
    for tid, depth, e in rows:
        x = left + (e["ts"] - t0) * sx
        w = max(e["dur"] * sx, 0.5)
        yy = y_of[tid] + depth * row_h
        phase = e.get("args", {}).get("phase", "forward")
        c = COLOURS.get((e.get("cat", "user"), phase), "#bab0ac")
        label = html.escape(e["name"])
        out.append('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s" '
                   'stroke="white" stroke-width="0.3"><title>%s %.3f ms'
                   '</title></rect>' % (x, yy, w, row_h - 2, c, label,
                                        e["dur"] / 1000))
        if w > 6 * len(e["name"]):
            out.append('<text x="%.2f" y="%d" fill="white">%s</text>' % (
                x + 2, yy + 11, label))
    ly = H - 16
    for i, (name, c) in enumerate((("forward op", "#4e79a7"),
                                   ("backward op", "#f28e2b"),
                                   ("backward node", "#e15759"),
                                   ("module", "#59a14f"),
                                   ("step / user", "#bab0ac"))):
        out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>'
                   '<text x="%d" y="%d">%s</text>' % (
                       left + 120 * i, ly - 9, c, left + 120 * i + 14, ly,
                       name))
    out.append("</svg>")
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
