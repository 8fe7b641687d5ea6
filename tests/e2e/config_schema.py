#!/usr/bin/env python3
"""conf/intune-gate.schema.json against the configuration loader (tests/e2e/test_config_schema.sh).

  config_schema.py validate SCHEMA FILE...      each file validates (draft 2020-12)
  config_schema.py loader SCHEMA BINARY TOP     the schema and the loader know the same keys

The loader is asked through `intune-gate --check-config`, which prints every problem at once:
  1. every schema key is accepted: configs holding every key of the schema (one per branch of each
     oneOf, e.g. the three outcome actions) give no "unknown key" error;
  2. every key the loader accepts is in the schema: every identifier-like string literal of core/
     and proxy/ is put into every object of those configs (with a sentinel that is surely unknown);
     a literal the loader does not call unknown, where the sentinel was, is a key the schema lacks;
  3. ranges and enums: integers set past their maximum and strings set to an unknown choice give the
     loader's "must be between MIN and MAX" / "must be one of ..." messages, compared with the schema.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema

SENTINEL = "zz_sentinel_no_such_key"
UNKNOWN = re.compile(r"^config error: (\S*): unknown (?:key|outcome|requirement)\b")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def validate(schema_path, files):
    schema = json.load(open(schema_path))
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    bad = 0
    for f in files:
        errors = sorted(v.iter_errors(json.load(open(f))), key=lambda e: list(e.absolute_path))
        for e in errors:
            bad += 1
            print("FAIL: %s: /%s: %s" % (f, "/".join(map(str, e.absolute_path)), e.message[:300]), file=sys.stderr)
        if not errors:
            print("ok: %s validates" % f)
    if bad:
        sys.exit(1)


class Generator:
    """Builds a config from the schema: every property of every object, branch `variant` of each
    oneOf/anyOf (null branches avoided), enum value `variant`. Records each object's schema."""

    def __init__(self, schema, variant):
        self.root, self.variant = schema, variant
        self.objects = {}  # JSON pointer -> schema node of that object (additionalProperties false)
        self.integers = {}  # pointer -> (min, max)
        self.enums = {}  # pointer -> list of strings

    def resolve(self, node):
        while "$ref" in node:
            target = self.root
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def branches(self, node):
        for key in ("oneOf", "anyOf"):
            if key in node:
                options = [self.resolve(b) for b in node[key]]
                non_null = [b for b in options if b.get("type") != "null"]
                return non_null or options
        return None

    def make(self, node, ptr):
        node = self.resolve(node)
        options = self.branches(node)
        if options:
            chosen = options[self.variant % len(options)]
            merged = {k: v for k, v in node.items() if k not in ("oneOf", "anyOf")}
            merged.update(chosen)
            if "properties" in node and "properties" in chosen:
                merged["properties"] = {**node["properties"], **chosen["properties"]}
            return self.make(merged, ptr)
        types = node.get("type", [])
        types = types if isinstance(types, list) else [types]
        if "const" in node:
            return node["const"]
        if "properties" in node or "object" in types:
            out = {}
            for key, sub in node.get("properties", {}).items():
                out[key] = self.make(sub, ptr + "/" + key)
            if node.get("additionalProperties") is False:
                self.objects[ptr] = node
            return out
        if "enum" in node:
            if all(isinstance(e, str) for e in node["enum"]):
                self.enums[ptr] = node["enum"]
            return node["enum"][self.variant % len(node["enum"])]
        if "integer" in types:
            self.integers[ptr] = (node.get("minimum"), node.get("maximum"))
            return node.get("default", node.get("minimum", 1))
        if "boolean" in types:
            return False
        if "array" in types:
            if node.get("minItems", 0) == 0 and "default" in node:
                return node["default"]
            return [self.make(node.get("items", {}), ptr + "/0")]
        if node.get("default") is not None:
            return node["default"]
        return "x"


def check_config(binary, config, folder):
    path = os.path.join(folder, "config.json")
    with open(path, "w") as f:
        json.dump(config, f, indent=1)
    env = dict(os.environ, IG_SCHEMA_TEST_SECRET="s")
    r = subprocess.run([binary, "--check-config", path], capture_output=True, text=True, env=env, timeout=60)
    return r.stderr.splitlines()


def put(config, ptr, key, value):
    node = config
    for part in [p for p in ptr.split("/") if p]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node.setdefault(key, value)


def candidates(top):
    names = set()
    for pattern in ("core/**/*.cpp", "core/**/*.hpp", "proxy/**/*.cpp", "proxy/**/*.hpp"):
        for f in glob.glob(os.path.join(top, pattern), recursive=True):
            names.update(re.findall(r'"([A-Za-z_][A-Za-z0-9_]{1,40})"', open(f, errors="replace").read()))
    return sorted(names)


def check_ranges(gen, config, binary, folder, problems):
    """Integers past their maximum, string choices set to an unknown one: the loader's bounds."""
    for ptr, (lo, hi) in gen.integers.items():
        parent, key = ptr.rsplit("/", 1)
        try:
            put_value(config, parent, key, hi + 1)
        except (KeyError, TypeError, IndexError):
            continue
    for ptr in gen.enums:
        parent, key = ptr.rsplit("/", 1)
        try:
            put_value(config, parent, key, "zz-not-a-choice")
        except (KeyError, TypeError, IndexError):
            continue
    checked = 0
    for line in check_config(binary, config, folder):
        m = re.match(r"^config error: (\S+): must be between (\d+) and (\d+), got", line)
        if m and m.group(1) in gen.integers:
            want = gen.integers[m.group(1)]
            got = (int(m.group(2)), int(m.group(3)))
            if got != want:
                problems.append("%s: the loader's range is %d-%d, the schema's %s-%s" % (m.group(1), *got, *want))
            checked += 1
        m = re.match(r"^config error: (\S+): must be one of (.*), got", line)
        if m and m.group(1) in gen.enums:
            got = sorted(re.findall(r'"([^"]*)"', m.group(2)))
            if got != sorted(gen.enums[m.group(1)]):
                problems.append("%s: the loader's choices are %s, the schema's %s" % (m.group(1), got, gen.enums[m.group(1)]))
            checked += 1
    return checked


def put_value(config, parent, key, value):
    node = config
    for part in [p for p in parent.split("/") if p]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if key not in node:
        raise KeyError(key)
    node[key] = value


def loader(schema_path, binary, top):
    schema = json.load(open(schema_path))
    names = candidates(top)
    if len(names) < 50:
        fail("only %d string literals found in core/ and proxy/: the candidate scan is broken" % len(names))
    problems, walked, range_checks = [], set(), 0
    all_objects = set()
    with tempfile.TemporaryDirectory() as folder:
        for variant in range(6):  # 6 = lcm of the branch and choice counts (2, 3): every pairing
            gen = Generator(schema, variant)
            config = gen.make(schema, "")
            all_objects.update(gen.objects)
            # 1. every schema key is known to the loader
            for line in check_config(binary, config, folder):
                m = UNKNOWN.match(line)
                if m:
                    problems.append("the schema has %s, the loader does not know it: %s" % (m.group(1), line))
            # 2. every key the loader knows is in the schema
            probe = json.loads(json.dumps(config))
            for ptr, node in gen.objects.items():
                for name in names + [SENTINEL]:
                    if name not in node.get("properties", {}):
                        put(probe, ptr, name, None)
            unknown = set()
            for line in check_config(binary, probe, folder):
                m = UNKNOWN.match(line)
                if m:
                    unknown.add(m.group(1))
            for ptr, node in gen.objects.items():
                if ptr + "/" + SENTINEL not in unknown:
                    continue  # not walked in this variant (e.g. auth-specific keys)
                walked.add(ptr)
                for name in names:
                    if name not in node.get("properties", {}) and ptr + "/" + name not in unknown:
                        problems.append("the loader accepts %s/%s, the schema lacks it" % (ptr, name))
            # 3. ranges and choices
            range_checks += check_ranges(gen, json.loads(json.dumps(config)), binary, folder, problems)
    for ptr in sorted(all_objects - walked):
        problems.append("object %s is never walked by the loader in the generated configs: its keys go unchecked" % (ptr or "/"))
    for p in sorted(set(problems)):
        print("FAIL: " + p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("ok: %d objects walked, %d candidate keys each, %d ranges/choices compared" % (len(walked), len(names), range_checks))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "validate":
        validate(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 5 and sys.argv[1] == "loader":
        loader(*sys.argv[2:])
    else:
        fail(__doc__)
