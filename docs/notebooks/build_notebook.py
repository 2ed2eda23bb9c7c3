"""Writes distillery.ipynb (nbformat 4) from distillery_client.py: one cell per `# %%` block.

    python3 docs/notebooks/build_notebook.py [--check]

--check exits 1 when the notebook differs from what the script would write.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "distillery_client.py")
NOTEBOOK = os.path.join(HERE, "distillery.ipynb")


def cells(text):
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("# %%"):
            current = {"kind": "markdown" if "[markdown]" in line else "code", "lines": []}
            blocks.append(current)
        elif current is not None:
            current["lines"].append(line)
    out = []
    for n, block in enumerate(blocks):
        lines = block["lines"]
        while lines and not lines[-1].strip():
            lines.pop()
        if block["kind"] == "markdown":
            lines = [l[2:] if l.startswith("# ") else l.lstrip("#") for l in lines]
            out.append({"cell_type": "markdown", "id": "cell-%d" % n, "metadata": {}, "source": source(lines)})
        else:
            out.append({"cell_type": "code", "execution_count": None, "id": "cell-%d" % n, "metadata": {}, "outputs": [], "source": source(lines)})
    return out


def source(lines):
    return [l + "\n" for l in lines[:-1]] + lines[-1:]


def notebook():
    with open(SOURCE, encoding="utf-8") as f:
        text = f.read()
    return {
        "cells": cells(text),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def main():
    text = json.dumps(notebook(), indent=1, ensure_ascii=False) + "\n"
    if "--check" in sys.argv:
        with open(NOTEBOOK, encoding="utf-8") as f:
            if f.read() != text:
                print("distillery.ipynb differs from distillery_client.py; run python3 docs/notebooks/build_notebook.py")
                return 1
        return 0
    with open(NOTEBOOK, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
