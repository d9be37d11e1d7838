"""Renders the differential corpus with Python's Jinja2, the reference Paved is compared with.

Reads a JSON list of cases from stdin: {name, template, context, files, keep_trailing_newline}.
Writes a JSON object to stdout: name -> {"output": text} or {"error": "Type: message"}.

The environment is Jinja2's default one (no autoescape, trim_blocks and lstrip_blocks off, the
default newline sequence) with StrictUndefined, as Paved renders: a missing variable is an error,
never an empty string. `files` are other templates the case may include or import, by name.
"""

import json
import sys

import jinja2


def render(case):
    loader = jinja2.DictLoader(dict(case.get("files") or {}))
    environment = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=case["keep_trailing_newline"],
        autoescape=False,
    )
    try:
        template = environment.from_string(case["template"])
        return {"output": template.render(case["context"])}
    except Exception as error:  # every failure is a result to compare, not a crash
        return {"error": f"{type(error).__name__}: {error}"}


def main():
    cases = json.load(sys.stdin)
    results = {case["name"]: render(case) for case in cases}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
