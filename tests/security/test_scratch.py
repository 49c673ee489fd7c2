"""The run's own temporary folders (autograde/scratch.py) go away however their maker ends."""
import os
import signal
import subprocess
import sys
import time

from autograde.scratch import owned_tempdir
from conftest import REPO


def test_an_owned_folder_goes_away_with_its_maker_even_when_killed_and_deep(tmp_path):
    maker = subprocess.Popen([sys.executable, "-c",
                              "import os, sys, time\n"
                              "from autograde.scratch import owned_tempdir\n"
                              "with owned_tempdir('deep-', dir=sys.argv[1]) as folder:\n"
                              "    os.chdir(folder)\n"
                              "    for _ in range(3000):\n"  # deeper than a path may be long
                              "        os.mkdir('d')\n"
                              "        os.chdir('d')\n"
                              "    print(folder, flush=True)\n"
                              "    time.sleep(60)\n", str(tmp_path)],
                             cwd=REPO, stdout=subprocess.PIPE, text=True)
    folder = maker.stdout.readline().strip()
    assert os.path.isdir(folder)
    maker.send_signal(signal.SIGKILL)
    maker.wait()
    deadline = time.monotonic() + 10
    while os.path.exists(folder) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(folder)


def test_an_owned_folder_is_removed_when_its_block_ends(tmp_path):
    with owned_tempdir("block-", dir=tmp_path) as folder:
        (folder / "file").write_text("x")
    assert list(tmp_path.iterdir()) == []
