"""Two ingests at once on one data dir: the second says clearly that another is running and does nothing
(before, both failed with raw Chroma tracebacks). Real processes, a real lock, a real index."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from evals.servers import child_env

ROOT = Path(__file__).resolve().parents[1]
SMEBOT = Path(sys.executable).with_name("smebot")


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus" / "policy", corpus / "policy")
    return corpus


def test_a_second_ingest_while_one_runs_says_so_and_does_nothing(tmp_path):
    corpus, data = _corpus(tmp_path), tmp_path / "data"
    data.mkdir()
    env = child_env(data_dir=str(data), corpus_dir=str(corpus))
    # the first ingest: a process holding the data dir's lock, as a long ingest does
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from filelock import FileLock; from pathlib import Path; "
         "l = FileLock(sys.argv[1]); l.acquire(); Path(sys.argv[2]).write_text('pid 4242, started just now'); "
         "print('held', flush=True); time.sleep(60)",
         str(data / "ingest.lock"), str(data / "ingest.lock.owner")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        second = subprocess.run([str(SMEBOT), "ingest"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 3
    assert "another ingest is running" in second.stderr and "pid 4242" in second.stderr
    assert "Traceback" not in second.stderr + second.stdout
    assert not (data / "index" / "manifest.json").exists()  # it wrote nothing


def test_two_ingests_started_together_leave_one_good_index(tmp_path):
    corpus, data = _corpus(tmp_path), tmp_path / "data"
    env = child_env(data_dir=str(data), corpus_dir=str(corpus))
    runs = [subprocess.Popen([str(SMEBOT), "ingest", "--rebuild"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 3])  # the second finds the first done, or is told it runs
    for code, out, err in results:
        assert "Traceback" not in out + err
        if code == 3:
            assert "another ingest is running" in err
    check = subprocess.run([str(SMEBOT), "ingest"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and "unchanged" in check.stdout  # the index both left is whole
