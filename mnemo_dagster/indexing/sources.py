"""Git sources: ``mnemo index URL --ref REF`` indexes a checkout of REF at a recorded commit.

A git source is a URL (``https://``, ``ssh://``, ``git://``, ``file://``, ``user@host:path``), a local
bare repository, or (with ``--ref``) a local repository with a work tree. Its checkout lives in
``$MNEMO_HOME/checkouts/<name>``: cloned on the first pass, fetched on the next ones, always detached
at the commit REF named when the pass started. The commit is recorded on the repository's row
(``repositories.source_url``, ``source_ref``, ``source_commit``) once the pass has planned, and in the
tags of every run of the pass; a worker on another machine fetches that same commit with
:func:`sync_checkout` (``ref`` = the commit).

When the ref has moved since the recorded commit, ``git diff --name-status`` between the two names
the only files the scan looks at (added, modified, deleted; a rename is a deletion and an addition);
every other file keeps its stored state without being read.

Git runs as a subprocess and never prompts; a bad URL or an unknown ref is a
:class:`~mnemo_dagster.errors.ConfigError` with git's own reason, in one line. A first clone
happens in a temporary directory that is removed if anything fails.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mnemo_dagster.errors import ConfigError
from mnemo_dagster.indexing.targets import URL_PATTERN, check_index_target, is_git_source, source_name
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.wiring import Wiring

CHECKOUTS_DIR = "checkouts"
"""Under MNEMO_HOME: one checkout per git-sourced repository, named after it."""
DEFAULT_REF = "HEAD"
"""What a git source indexes without ``--ref``: the remote's default branch."""
GIT_TIMEOUT_SECONDS = 600.0
"""``scheme://...`` or scp-like ``user@host:path``."""
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
"""Never wait for credentials on a terminal; messages in English (they are shown as they are)."""


@dataclass(frozen=True, slots=True)
class GitCheckout:
    """A git source checked out for one pass."""

    name: str
    """The repository's name."""
    url: str
    """The URL or path it was fetched from, as given."""
    ref: str
    """The branch, tag or commit asked for."""
    commit: str
    """The full commit id the checkout is at."""
    root: Path
    """The checkout's directory (``$MNEMO_HOME/checkouts/<name>``)."""
    previous_commit: str | None = None
    """The commit the last pass of this repository recorded, if any."""
    changed: frozenset[str] | None = None
    """Paths (POSIX, relative to ``root``) that differ between ``previous_commit`` and ``commit``;
    None when there is nothing to diff against (first pass, or the old commit is gone)."""

    def record(self, store: IndexStore, repository: str) -> None:
        """Record the URL, ref and commit on the repository's row (it exists once the pass has planned)."""
        store.files.record_source(repository, self.url, self.ref, self.commit)


def _git(args: list[str], *, cwd: Path | None = None, what: str) -> str:
    """Run ``git args`` and return its stdout; a failure is a ConfigError naming ``what`` and git's reason."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env={**os.environ, **GIT_ENV},
        )
    except FileNotFoundError:
        raise ConfigError("git is not installed (it is needed to index a git URL)") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{what}: git did not finish within {GIT_TIMEOUT_SECONDS:.0f} s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("fatal:")), lines[-1] if lines else "")
        raise ConfigError(f"{what}: {reason.removeprefix('fatal: ') or f'git exited {done.returncode}'}")
    return done.stdout


def _fetch_and_check_out(url: str, ref: str, checkout: Path) -> str:
    """Fetch ``ref`` of ``url`` into the repository at ``checkout``, detach its work tree there, and
    return the commit."""
    _git(
        ["fetch", "--quiet", "--depth=1", "--no-tags", url, ref],
        cwd=checkout,
        what=f"cannot fetch {ref!r} from {url}",
    )
    commit = _git(["rev-parse", "--verify", "FETCH_HEAD^{commit}"], cwd=checkout, what="no commit fetched")
    commit = commit.strip()
    _git(
        ["checkout", "--quiet", "--force", "--detach", commit],
        cwd=checkout,
        what=f"cannot check out {commit}",
    )
    _git(["clean", "--quiet", "-ffdx"], cwd=checkout, what="cannot clean the checkout")
    return commit


def normalized_url(url: str) -> str:
    """``url`` as recorded: a URL as given, a local path made absolute."""
    return url if URL_PATTERN.match(url) else str(Path(url).expanduser().resolve())


def sync_checkout(url: str, ref: str, checkout: Path) -> str:
    """Make ``checkout`` a work tree of ``url`` at ``ref`` (a branch, tag or commit); return the commit.

    An existing checkout is fetched into. A new one is cloned into a temporary directory beside it,
    which becomes ``checkout`` only when everything worked and is removed otherwise.
    """
    url = normalized_url(url)
    if (checkout / ".git").is_dir():
        return _fetch_and_check_out(url, ref, checkout)
    if checkout.exists():
        raise ConfigError(f"{checkout} exists and is not a git checkout; remove it or pick another --name")
    checkout.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{checkout.name}-", dir=checkout.parent))
    try:
        _git(["init", "--quiet"], cwd=staging, what=f"cannot create a repository in {staging}")
        commit = _fetch_and_check_out(url, ref, staging)
        staging.rename(checkout)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return commit


def changed_paths(checkout: Path, old: str, new: str) -> frozenset[str] | None:
    """Paths that ``git diff --name-status old new`` names (renames as deletion + addition), or None
    when ``old`` is not in the checkout (a fresh clone is shallow)."""
    if old == new:
        return frozenset()
    try:
        _git(["cat-file", "-e", f"{old}^{{commit}}"], cwd=checkout, what="old commit missing")
    except ConfigError:
        return None
    out = _git(
        ["diff", "--name-status", "--no-renames", "-z", old, new],
        cwd=checkout,
        what=f"cannot diff {old[:12]}..{new[:12]}",
    )
    fields = out.split("\0")
    # -z output: STATUS NUL PATH NUL, repeated; with --no-renames every entry has exactly one path.
    return frozenset(fields[index + 1] for index in range(0, len(fields) - 1, 2))


def prepare_checkout(store: IndexStore, home: Path, url: str, ref: str | None, name: str) -> GitCheckout:
    """Check out ``ref`` of ``url`` for repository ``name`` and work out what changed since its last pass."""
    ref, url = ref or DEFAULT_REF, normalized_url(url)
    _, recorded_url, previous = store.files.recorded_source(name) or (None, None, None)
    if recorded_url is not None and recorded_url != url:
        raise ConfigError(f"repository {name!r} is indexed from {recorded_url}; pick another --name")
    root = home / CHECKOUTS_DIR / name
    commit = sync_checkout(url, ref, root)
    changed = changed_paths(root, previous, commit) if previous else None
    return GitCheckout(name, url, ref, commit, root, previous_commit=previous, changed=changed)


def _head(checkout: Path) -> str | None:
    """The commit a checkout is at, or None when there is no checkout."""
    if not (checkout / ".git").is_dir():
        return None
    try:
        return _git(["rev-parse", "--verify", "HEAD"], cwd=checkout, what="no HEAD").strip()
    except ConfigError:
        return None


def ensure_checkout(store: IndexStore, repository: str, commit: str | None = None) -> bool:
    """On the machine that runs a batch: make a git-sourced repository's checkout exist, at ``commit``
    (a run's ``mnemo/commit`` tag) or, when the run has none and there is no checkout, at the recorded
    commit. Returns whether it fetched. Does nothing for a directory source.

    Batch steps of one machine share the checkout, so they take turns (a file lock beside it).
    """
    root_path, url, recorded = store.files.recorded_source(repository) or (None, None, None)
    if root_path is None or url is None or recorded is None:
        return False
    root, wanted = Path(root_path), commit or recorded
    root.parent.mkdir(parents=True, exist_ok=True)
    with (root.parent / f".{root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        head = _head(root)
        if head == wanted or (commit is None and head is not None):
            return False
        sync_checkout(url, wanted, root)
    return True


def checkout_source(wiring: Wiring, target: str, *, ref: str | None, name: str | None) -> GitCheckout | None:
    """Check out ``target`` if it is a git source (see :func:`is_git_source`); None for a directory."""
    if not is_git_source(target, ref=ref):
        check_index_target(target, ref=ref, name=name)
        return None
    wiring.ensure_schema()  # the recorded commit is read before the pass starts
    return prepare_checkout(wiring.store, wiring.settings.home, target, ref, name or source_name(target))
