"""Run a process tree as local users who must reach folders closed to them, without changing the machine.

The course's Python may live in a folder others may not enter (pyenv under /root, mode 700). In a private
mount namespace (`unshare --mount --propagation private`) the closed folder is covered by an empty tmpfs
and just the needed paths are bound back; every process started inside sees that, nothing outside does.
"""
import os
import sys
from pathlib import Path

from conftest import REPO


def python_paths():
    """What a local user needs to run the course's Python and code: the repository and the environment."""
    return sorted({str(REPO), sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent)})


def closed_ancestor(path):
    """The topmost folder above path that others may not enter, or None."""
    for parent in reversed(Path(path).parents):
        if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
            return parent
    return None


def reachable(paths, keep):
    """Shell lines that make each path reachable for others in this mount namespace (keep: an empty folder)."""
    lines, index = [], 0
    by_ancestor = {}
    for path in paths:
        ancestor = closed_ancestor(path)
        if ancestor:
            by_ancestor.setdefault(ancestor, []).append(path)
    for ancestor, inside in by_ancestor.items():
        for path in inside:
            lines.append(f"mkdir -p {keep}/{index} && mount --bind '{path}' {keep}/{index}")
            index += 1
        lines.append(f"mount -t tmpfs -o mode=755 tmpfs '{ancestor}'")
        for number, path in enumerate(inside, start=index - len(inside)):
            lines.append(f"mkdir -p '{path}' && mount --bind {keep}/{number} '{path}'")
    return lines


def unshare_command(paths, keep, command):
    """argv that runs the shell command `command` (exec'd, so it keeps the pid) in a private mount namespace
    where each of paths is reachable."""
    script = "\n".join(["set -e", *reachable(paths, keep), f"exec {command}"])
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
