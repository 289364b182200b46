#!/usr/bin/python3
"""Reads the Dockerfile's runtime stage and compose.yaml and prints them as
bash assignments for scripts/container_check.sh, so the check runs exactly
what those files say (no argument retyped). Anything it does not know how to
emulate is an error, so a new instruction or compose key cannot slip past.

  container_spec.py REPO   ->  bash source on stdout
"""

import os
import re
import shlex
import sys

import yaml  # python3-yaml

REPO = os.path.abspath(sys.argv[1])


def fail(msg):
    sys.exit("container_spec: " + msg)


def q(value):
    return shlex.quote(str(value))


def arr(name, values):
    print("%s=(%s)" % (name, " ".join(q(v) for v in values)))


def duration(text, default):
    """Compose durations as whole seconds ("2s", "1m30s", "500ms" -> 1)."""
    if text is None:
        return default
    total = 0.0
    for number, unit in re.findall(r"([\d.]+)(ms|us|h|m|s)", str(text)):
        total += float(number) * {"h": 3600, "m": 60, "s": 1,
                                  "ms": 0.001, "us": 1e-6}[unit]
    return max(1, int(round(total)))


def dockerfile():
    with open(os.path.join(REPO, "Dockerfile")) as f:
        text = f.read().replace("\\\n", " ")
    stages, current = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            current = {"from": rest.split()[0], "steps": []}
            stages.append(current)
        elif current is None:
            fail("Dockerfile: %s before FROM" % word)
        else:
            current["steps"].append((word, " ".join(rest.split())))
    if len(stages) < 2:
        fail("Dockerfile: expected a build stage and a runtime stage")
    final = stages[-1]
    print("IMAGE_FROM=%s" % q(final["from"]))
    arr("IMAGE_CMD", [])
    steps = []
    for word, rest in final["steps"]:
        if word == "COPY":
            m = re.fullmatch(r"--from=build (\S+)/dirscope-\*\.deb (\S+)",
                             rest)
            if not m:
                fail("Dockerfile: COPY I cannot emulate: " + rest)
            steps.append("COPYDEBS\t" + m.group(2))
        elif word in ("RUN", "USER", "WORKDIR"):
            if word == "RUN" and rest.startswith("["):
                fail("Dockerfile: exec-form RUN not emulated: " + rest)
            steps.append(word + "\t" + rest)
        elif word == "CMD":
            if not rest.startswith("["):
                fail("Dockerfile: shell-form CMD not emulated: " + rest)
            arr("IMAGE_CMD", yaml.safe_load(rest))  # a JSON array
        elif word in ("EXPOSE", "LABEL"):
            pass  # metadata
        else:
            fail("Dockerfile: instruction not emulated: " + word)
    arr("IMAGE_STEPS", steps)


def compose():
    path = os.path.join(REPO, "compose.yaml")
    with open(path) as f:
        text = f.read()
    doc = yaml.safe_load(text)
    services = doc["services"]
    named = set((doc.get("volumes") or {}).keys())
    known = {"build", "image", "hostname", "command", "volumes", "ports",
             "healthcheck", "pull_policy", "depends_on"}
    # Start order: a service after everything it depends on.
    order, seen = [], set()

    def visit(name, trail=()):
        if name in seen:
            return
        if name in trail:
            fail("compose: dependency cycle at " + name)
        for dep in (services[name].get("depends_on") or {}):
            visit(dep, trail + (name,))
        seen.add(name)
        order.append(name)

    for name in services:
        visit(name)
    arr("SERVICES", order)
    for i, name in enumerate(order):
        svc = services[name]
        extra = set(svc) - known
        if extra:
            fail("compose: %s: keys not emulated: %s" % (name, sorted(extra)))
        command = svc.get("command")
        if not isinstance(command, list):
            fail("compose: %s: command must be a list" % name)
        arr("SVC_%d_CMD" % i, command)
        print("SVC_%d_HOSTNAME=%s" % (i, q(svc.get("hostname", name))))
        mounts = []
        for spec in svc.get("volumes") or []:
            parts = spec.split(":")
            if len(parts) == 2:
                parts.append("rw")
            src, dst, mode = parts
            if mode not in ("ro", "rw"):
                fail("compose: %s: volume mode %s" % (name, mode))
            if src.startswith((".", "/")):
                src = os.path.normpath(os.path.join(REPO, src))
                if not os.path.isdir(src):
                    fail("compose: %s: bind source %s is missing"
                         % (name, src))
                mounts.append("bind\t%s\t%s\t%s" % (src, dst, mode))
            elif src in named:
                mounts.append("volume\t%s\t%s\t%s" % (src, dst, mode))
            else:
                fail("compose: %s: undeclared volume %s" % (name, src))
        arr("SVC_%d_MOUNTS" % i, mounts)
        ports = []
        for spec in svc.get("ports") or []:
            ports.append(str(spec).rsplit(":", 1)[-1])
        arr("SVC_%d_PORTS" % i, ports)
        deps = []
        for dep, cond in (svc.get("depends_on") or {}).items():
            condition = (cond or {}).get("condition", "service_started")
            if condition not in ("service_started", "service_healthy"):
                fail("compose: %s: condition %s" % (name, condition))
            deps.append("%s\t%s" % (order.index(dep), condition))
        arr("SVC_%d_DEPS" % i, deps)
        health = svc.get("healthcheck")
        if health:
            test = health["test"]
            if isinstance(test, str):
                test = ["sh", "-c", test]
            elif test[0] == "CMD":
                test = test[1:]
            elif test[0] == "CMD-SHELL":
                test = ["sh", "-c", test[1]]
            else:
                fail("compose: %s: healthcheck test %s" % (name, test[0]))
            arr("SVC_%d_HEALTH" % i, test)
            print("SVC_%d_HEALTH_INTERVAL=%d"
                  % (i, duration(health.get("interval"), 30)))
            print("SVC_%d_HEALTH_RETRIES=%d" % (i, health.get("retries", 3)))
        else:
            arr("SVC_%d_HEALTH" % i, [])
    # The promise in the comment on top: `docker compose exec SERVICE ...`.
    lines, taking = [], False
    for line in text.splitlines():
        body = line.lstrip("#").strip()
        if not line.startswith("#"):
            taking = False
            continue
        if body.startswith("docker compose exec "):
            taking = True
        if taking:
            lines.append(body.rstrip("\\").strip())
            if not body.endswith("\\"):
                taking = False
    if not lines:
        fail("compose: no `docker compose exec` example in the comment")
    words = shlex.split(" ".join(lines))[3:]
    exec_service, argv = words[0], words[1:]
    if exec_service not in order:
        fail("compose: exec names an unknown service " + exec_service)
    print("EXEC_SERVICE=%d" % order.index(exec_service))
    arr("EXEC_CMD", argv)


dockerfile()
compose()
