"""A rootfs tarball without root: `mmdebstrap --mode=unshare` (Debian's package).

The same recipe data and normalization as the root path (fwenv.guix.rootfs: debootstrap +
chroot): minbase from the recipe's mirror and keyring, the apt options and policy-rc.d, the
recipe's pre_install steps, `apt-get install` of its packages, its files, its post_install steps,
the CLEANUP list, the blanked /etc/shadow day, and the same `tar` command — all run by a
customize hook inside mmdebstrap's user namespace, where the invoking user is root and
/etc/subuid's range holds the other ids, so the tar records the in-image owners. The hook is
written as a file (shlex-quoted recipe data), mmdebstrap's own output goes to /dev/null.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from ..fsutil import write_text_atomic
from ..plan import Runner
from .rootfs import APT_CONF, CLEANUP, POLICY_RC_D, RootfsRecipe, chroot, tar_argv

BOOTSTRAP = ("bootstrap", "mmdebstrap-unshare")  # a recipe `extra`: its own inputs digest

_ROOT = "/ROOTFS"  # placeholder for the hook's "$1", the rootfs mmdebstrap made


def _q(argv: list[str]) -> str:
    return shlex.join(argv).replace(shlex.quote(_ROOT), '"$r"').replace(_ROOT, '"$r"')


def _put(rel: str, text: str, mode: int) -> list[str]:
    dest = f'"$r"/{shlex.quote(rel)}'
    return [f'mkdir -p "$(dirname {dest})"', f"printf %s {shlex.quote(text)} > {dest}",
            f"chmod {mode:o} {dest}"]


def hook_script(recipe: RootfsRecipe, tar_dest: Path, versions: Path) -> str:
    """The customize hook: everything the root path does after debootstrap, as sh."""
    root = Path(_ROOT)
    lines = ["#!/bin/sh", "# written by fwenv.guix.unshare; run by mmdebstrap as its customize hook",
             "set -eu", 'r=$1']
    lines += _put("etc/apt/apt.conf.d/99fwenv", APT_CONF, 0o644)
    lines += _put("usr/sbin/policy-rc.d", POLICY_RC_D, 0o755)
    lines += [_q(chroot(root, *argv)) for argv in recipe.pre_install]
    if recipe.packages:
        lines.append(_q(chroot(root, "apt-get", "update", "-q")))
        lines.append(_q(chroot(root, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                               *recipe.packages)))
    for rel, text, mode in recipe.files:
        lines += _put(rel, text, mode)
    lines += [_q(chroot(root, *argv)) for argv in recipe.post_install]
    lines.append(_q(chroot(root, "dpkg-query", "-W", "-f=${Package}\t${Version}\n"))
                 + f" > {shlex.quote(str(versions))}")
    # clean_rootfs, as sh: the same globs (constants), var/log files, shadow's field 3
    lines += [f'for p in "$r"/{pattern}; do rm -rf "$p"; done' for pattern in CLEANUP]
    lines.append('find "$r/var/log" \\( -type f -o -type l \\) -delete')
    lines.append('if [ -f "$r/etc/shadow" ]; then awk -F: -v OFS=: \'{ if (NF > 2) $3 = ""; print }\''
                 ' "$r/etc/shadow" > "$r/etc/shadow.fwenv" && cat "$r/etc/shadow.fwenv" >'
                 ' "$r/etc/shadow" && rm "$r/etc/shadow.fwenv"; fi')
    # what mmdebstrap's own cleanup (skipped: it would run after this hook) undoes
    lines += ['rm -f "$r"/etc/apt/apt.conf.d/00mmdebstrap "$r"/etc/apt/apt.conf.d/99mmdebstrap',
              'if [ -e "$r"/usr/sbin/start-stop-daemon.REAL ]; then'
              ' mv -f "$r"/usr/sbin/start-stop-daemon.REAL "$r"/usr/sbin/start-stop-daemon; fi',
              # /proc and /sys are mounted here (owned by nobody, 0555): tar the directories
              'umount -l "$r/proc" 2>/dev/null || true', 'umount -l "$r/sys" 2>/dev/null || true']
    lines.append(_q(tar_argv(root, tar_dest, recipe.source_date_epoch)))
    return "\n".join(lines) + "\n"


def mmdebstrap_argv(recipe: RootfsRecipe, keyring: Path, hook: Path) -> list[str]:
    return ["mmdebstrap", "--mode=unshare", "--variant=minbase", "--components=main",
            f"--keyring={keyring}", "--aptopt=Acquire::Check-Valid-Until \"false\"",
            f"--customize-hook=sh {shlex.quote(str(hook))} \"$1\"",
            # the hook already cleaned and tar'd; the output is /dev/null
            "--skip=cleanup/apt", "--skip=cleanup/tmp", "--skip=cleanup/run",
            "--skip=cleanup/mmdebstrap", "--skip=cleanup/reproducible",
            recipe.suite, "/dev/null", recipe.effective_mirror]


def make_tar(recipe: RootfsRecipe, runner: Runner, work: Path, keyring: Path) -> dict[str, str]:
    """Build work/rootfs.tar without root; return the Debian package versions in it.

    The namespace's root is the first id of /etc/subuid's range, not the invoking user: it
    reads the hook and writes the tar in work/ns (0733 in a 0711 work dir, names unguessable),
    then the tar is copied to a file the invoking user owns."""
    ns = work / "ns"
    tar, versions, hook = ns / "rootfs.tar", ns / "versions.tsv", work / "customize.sh"
    text = hook_script(recipe, tar, versions)
    runner.show(f"# write {hook} (mmdebstrap's customize hook):\n{text}")
    if not runner.dry_run:
        ns.mkdir()
        os.chmod(work, 0o711)
        os.chmod(ns, 0o733)
        write_text_atomic(hook, text)
        os.chmod(hook, 0o644)
    with runner.step(f"mmdebstrap --mode=unshare {recipe.suite} from {recipe.effective_mirror}"):
        runner.run(mmdebstrap_argv(recipe, keyring, hook), what="mmdebstrap",
                   fix="check /etc/subuid and /etc/subgid ranges for this user, "
                       "sysctl user.max_user_namespaces, and the mirror")
    if runner.dry_run:
        return {}
    runner.run(["cp", str(tar), str(work / "rootfs.tar")], what="cp")
    rows = versions.read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in rows if "\t" in line)
