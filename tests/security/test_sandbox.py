"""The grading kernel's sandbox, tried from inside with real kernels (bubblewrap required, as in CI)."""
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from autograde import kernel_proxy, sandbox
from autograde.errors import AutogradeError
from conftest import REPO, course_limits

pytestmark = pytest.mark.skipif(sandbox.problem() is not None, reason=f"no sandbox here: {sandbox.problem()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One sandboxed kernel server, as one grading run has: every kernel of this module is forked from it."""
    course_modules = tmp_path_factory.mktemp("course-modules")
    (course_modules / "autograd_checks.py").write_text("GENUINE = True\n")
    with sandbox.grading_session(course_limits(notebook_seconds=15), course_modules) as env:
        yield Path(env["TMPDIR"]), env


@pytest.fixture
def start_kernel(server, tmp_path, monkeypatch):
    """Start sandboxed kernels exactly as grading does; start_kernel() -> run(code) -> (stdout text, error or None)."""
    runtime, env = server
    workdir = tmp_path / "autograded" / "alice" / "autograd"
    workdir.mkdir(parents=True)
    (workdir / "01_basics.ipynb").write_text("{\"hidden\": \"tests\"}")
    (workdir / "autograd_checks.py").write_text("CHECKS = True\n")
    for key, value in {**env, "PYTHONPATH": str(REPO), "AUTOGRADE_DB_URL": "postgresql://grader:secret@db/x"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(tempfile, "tempdir", str(runtime))
    started = []

    def start(extra_files=None):
        for relpath, text in (extra_files or {}).items():
            (workdir / relpath).parent.mkdir(parents=True, exist_ok=True)
            (workdir / relpath).write_text(text)
        socket_folder = runtime / f"kernel-{uuid.uuid4().hex}"  # as autograde.client.GradingKernelManager names it
        manager = KernelManager(kernel_name=sandbox.KERNEL_NAME, transport="ipc", ip=str(socket_folder / "k"))
        manager.start_kernel(cwd=str(workdir))
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=30)
        started.append((manager, client))

        def run(code, timeout=30):
            chunks = []
            reply = client.execute_interactive(code, timeout=timeout, output_hook=lambda m: chunks.append(
                m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
            error = None if reply["content"]["status"] == "ok" else reply["content"].get("ename")
            return "".join(chunks), error

        run.client, run.manager = client, manager
        return run

    yield start
    for manager, client in started:
        client.stop_channels()
        if manager.has_kernel:  # not yet shut down by the test
            manager.shutdown_kernel(now=False)  # as nbclient does after the last cell
        assert not manager.is_alive()
        socket_folder = Path(manager.ip).parent
        if socket_folder.exists():
            socket_folder.rmdir()  # sockets only: jupyter_client removed them (GradingKernelManager does this)
    leftovers = [p.name for p in runtime.iterdir() if not p.name.startswith("stage-")]
    assert leftovers == [], "the sandbox left files in the runtime folder"
    assert {"01_basics.ipynb", "autograd_checks.py"} <= {p.name for p in workdir.iterdir()} and \
        not (workdir / "result.txt").exists(), \
        "the student's writes must stay in the private copy"


@pytest.fixture
def kernel(start_kernel):
    return start_kernel()


def test_runs_as_an_unprivileged_user_without_capabilities(kernel):
    out, _ = kernel("import os; print(os.getuid(), os.getgid(), open('/proc/self/status').read().split('CapEff:')[1].split()[0])")
    assert out.split() == ["65534", "65534", "0000000000000000"]


def test_cannot_remount_the_file_system_read_write(kernel):
    out, _ = kernel("import subprocess\n"
                    "r = subprocess.run(['mount', '-o', 'remount,rw', '/'], capture_output=True)\n"
                    "print(r.returncode)\n"
                    "try:\n    open('/usr/escaped', 'w')\nexcept OSError as e:\n    print(type(e).__name__)")
    assert out.split()[0] != "0" and "OSError" in out
    assert not Path("/usr/escaped").exists()


def test_sees_no_notebooks_source_gradebook_or_home(kernel):
    out, _ = kernel("import os\n"
                    f"print(sorted(os.listdir('.')), [os.path.exists(p) for p in {[str(REPO / 'source'), str(REPO / 'nbgrader_config.py'), str(REPO / 'gradebook.db'), os.path.expanduser('~/.bashrc')]!r}])")
    assert out.strip() == "['autograd_checks.py'] [False, False, False, False]"


def test_environment_and_python_are_read_only(kernel):
    out, _ = kernel(f"try:\n    open({sys.prefix!r} + '/evil.py', 'w')\nexcept OSError as e:\n    print(e.errno)")
    assert out.strip() == "30"  # EROFS


def test_grader_environment_does_not_leak(kernel):
    out, _ = kernel("import os; print(sorted(k for k in os.environ if 'DB' in k or 'AUTOGRADE' in k or 'JUPYTER' in k))")
    assert out.strip() == "[]"


def test_has_no_network(kernel):
    out, _ = kernel("import socket\ntry:\n    socket.create_connection(('127.0.0.1', 22), timeout=2)\n"
                    "except OSError as e:\n    print(type(e).__name__)\n"
                    "import subprocess\nprint(subprocess.run(['cat', '/proc/net/dev'], capture_output=True, text=True).stdout.count(':'))")
    kind, interfaces = out.split()
    assert kind in ("ConnectionRefusedError", "OSError") and interfaces == "1"  # only its own loopback


def test_writes_go_to_a_private_copy_and_tmp_is_fresh(kernel, tmp_path):
    marker = Path("/tmp") / f"host-marker-{os.getpid()}"
    marker.write_text("host")
    try:
        out, _ = kernel(f"import os; open('result.txt', 'w').write('x'); print(os.path.exists({str(marker)!r}))")
    finally:
        marker.unlink()
    assert out.strip() == "False"  # the fixture then checks that result.txt did not reach the real folder


def test_process_limit(kernel):
    out, _ = kernel("import os, time\nn = 0\ntry:\n    for _ in range(2000):\n        if os.fork() == 0:\n"
                    "            time.sleep(20); os._exit(0)\n        n += 1\nexcept OSError:\n    pass\nprint(n)")
    assert 0 < int(out) < 256


def test_a_kernel_after_a_fork_bomb_starts_and_gets_the_whole_process_limit(start_kernel):
    bomb = start_kernel()
    bomb("import os, time\nfor _ in range(2000):\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
         "    if pid == 0:\n        time.sleep(60); os._exit(0)")
    bomb.manager.shutdown_kernel(now=True)  # as grading ends a kernel
    out, error = start_kernel()("import os\nn = 0\nfor _ in range(100):\n    if os.fork() == 0:\n        os._exit(0)\n"
                                "    os.wait()\n    n += 1\nprint(n)")
    assert (out.strip(), error) == ("100", None)


def test_memory_limit_counts_the_scratch_file_systems(kernel):
    out, _ = kernel("import resource\nprint(resource.getrlimit(resource.RLIMIT_AS)[0] >> 20)\n"
                    "try:\n    b = bytearray(8 * 1024 ** 3)\nexcept MemoryError:\n    print('MemoryError')")
    limits = course_limits()
    assert out.split() == [str(limits.memory_mb - 3 * limits.scratch_mb), "MemoryError"]


def test_file_size_limit(kernel):
    out, _ = kernel("try:\n    open('/tmp/big', 'wb').write(bytes(100 * 1024 ** 2))\nexcept OSError as e:\n    print(e.errno)")
    assert out.strip() == "27"  # EFBIG: c.Limits.file_mb is 64


def test_scratch_file_systems_are_bounded(kernel):
    out, _ = kernel("import os\nfor place in ('/tmp', '/dev/shm', '.'):\n    for i in range(10):\n        try:\n"
                    "            open(f'{place}/fill-{i}', 'wb').write(bytes(60 << 20))\n        except OSError as e:\n"
                    "            print(place, i, e.errno)\n            break")
    assert out.split("\n")[:3] == ["/tmp 2 28", "/dev/shm 2 28", ". 2 28"]  # ENOSPC at 128 MB each


def test_everything_but_the_scratch_file_systems_is_read_only(kernel):
    out, _ = kernel("import os\nfor place in ('/', '/dev', '/grading', '/grading/runtime', '/grading/ipc', '/grading/course',"
                    " '/tmp', '/dev/shm', '/grading/work'):\n    try:\n"
                    "        open(os.path.join(place, 'x'), 'w').close()\n        print(place, 'ok')\n"
                    "    except OSError as e:\n        print(place, e.errno)")
    results = dict(line.split() for line in out.strip().splitlines())
    assert {p: r for p, r in results.items() if r == "ok"} == {"/tmp": "ok", "/dev/shm": "ok", "/grading/work": "ok"}
    assert set(results.values()) - {"ok"} <= {"30", "13"}  # EROFS (or EACCES for a folder not its own)


def test_a_kernel_is_a_session_leader_and_sees_only_its_own_sockets(kernel):
    out, _ = kernel("import os\nprint(os.getpid() == os.getpgrp() == os.getsid(0), os.listdir('/grading/runtime'),"
                    " sorted(os.listdir('/grading/ipc')))")
    leader, rest = out.split(" ", 1)
    assert leader == "True"
    assert rest.strip() == "[] ['k-1', 'k-2', 'k-3', 'k-4', 'k-5']" or rest.startswith("[] ['k-")


def test_the_course_modules_cannot_be_shadowed_by_submitted_files(start_kernel, tmp_path):
    run = start_kernel(extra_files={"autograd_checks/__init__.py": "GENUINE = False\n", "numpy_fake.py": ""})
    out, _ = run("import sys, autograd_checks\nprint(autograd_checks.__file__, autograd_checks.GENUINE, '' in sys.path)")
    assert out.split() == ["/grading/course/autograd_checks.py", "True", "False"]


def test_kernel_is_killed_after_the_notebook_time_limit(kernel):
    import time

    kernel.client.execute("import time\nwhile True:\n    try:\n        time.sleep(1)\n    except KeyboardInterrupt:\n        pass")
    deadline = time.monotonic() + 30  # notebook_seconds=15 in the fixture, counted from the kernel's start
    while kernel.manager.is_alive() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not kernel.manager.is_alive()


def test_kernels_from_one_server_share_nothing(start_kernel):
    """Kernels of one run are forked from one server: what a kernel leaves behind must die with it."""
    first = start_kernel()
    out, _ = first("import os, subprocess, numpy\n"
                   "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
                   "if os.fork() == 0:\n    os.setsid()\n    os.execvp('sleep', ['sleep', '300'])\n"
                   "for folder in ('/tmp', '/dev/shm', '.'):\n    open(folder + '/left-behind', 'w').write('x')\n"
                   "print(os.getpid(), numpy.random.randint(1 << 30), os.listdir('/grading/server'))")
    pid, first_random, server_files = out.split(maxsplit=2)
    assert pid == "1" and server_files.strip() == "[]"  # PID 1 of its own namespace; the server's socket hidden
    first.client.stop_channels()
    first.manager.shutdown_kernel(now=False)
    second = start_kernel()
    out, _ = second("import os, numpy\n"
                    "print(sorted(p for p in os.listdir('/proc') if p.isdigit()),"
                    " [os.path.exists(f + '/left-behind') for f in ('/tmp', '/dev/shm', '.')],"
                    " numpy.random.randint(1 << 30))")
    processes, files, second_random = out.split("] ")
    assert processes + "]" == "['1']" and files + "]" == "[False, False, False]"
    assert second_random.strip() != first_random  # each kernel seeds numpy afresh, as a new process would


def test_a_kernel_server_that_cannot_start_says_why(tmp_path):
    wrong_place = tmp_path / "runtime"
    wrong_place.mkdir()
    with pytest.raises(AutogradeError, match=r"kernel server did not start: .*runtime is not a autograde-runtime-"):
        with sandbox.running_kernel_server(course_limits(), wrong_place):
            pass
    assert list(tmp_path.iterdir()) == [wrong_place], "the server's folder must not stay behind"


def test_the_kernel_proxy_refuses_to_run_without_the_runs_kernel_server(tmp_path):
    connection = tmp_path / "kernel.json"
    connection.write_text("{}")
    env = {k: v for k, v in os.environ.items() if k != kernel_proxy.SERVER_ENV}
    result = subprocess.run([sys.executable, "-m", "autograde.kernel_proxy", str(connection)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "no sandboxed kernel server for this run" in result.stderr
