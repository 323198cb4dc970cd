"""Quiet notebook runs: `make reproduce` prints no warning or error line unless something is wrong.

Two lines used to follow every papermill run although nothing had failed: ipykernel's "Kernel is running over TCP
without encryption" warning, and, now and then, "ERROR | KeyboardInterrupt caught in kernel" from the interrupt
that starts jupyter_client's shutdown (see :func:`otlatent.notebooks.kernel_config` and
:func:`otlatent.notebooks._engine`). These tests run notebooks through the same path as `make reproduce`
(:func:`otlatent.notebooks.reproduce` and :func:`otlatent.notebooks.execute_notebook`), with the kernel's own output
captured at the file-descriptor level, and check that real warnings and errors still come through.
"""

import json
import re
import sys

import nbformat
import papermill
import pytest

from otlatent import notebooks

#: A line that reads as a fault to a newcomer.
FAULT = re.compile(r"warning|error|traceback|keyboardinterrupt", re.IGNORECASE)
#: A Python warning or exception named in a notebook's printed output ("UserWarning:", "ValueError").
NAMED_FAULT = re.compile(r"\b[A-Z]\w*(Warning|Error|Exception)\b|Traceback")


@pytest.fixture
def quiet_env(monkeypatch, tmp_path):
    """The environment of `make reproduce`: figures to a scratch folder, one torch thread, the default backend."""
    monkeypatch.setenv("OTLATENT_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # `make test` sets Agg; `make reproduce` leaves the kernel's own
    return tmp_path


def _notebook(tmp_path, name, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def _outputs(path):
    for cell in json.loads(path.read_text())["cells"]:
        yield from cell.get("outputs", [])


def _fault_lines(text):
    return [line for line in text.splitlines() if FAULT.search(line)]


def test_reproduce_prints_no_warning_or_error_line(quiet_env, capfd):
    timings = notebooks.reproduce("smoke", only=["01"], out=quiet_env / "build")
    out, err = capfd.readouterr()
    assert [name for name, _ in timings] == ["01_optimal_transport_1d"]
    assert not _fault_lines(out + err), f"`make reproduce` printed:\n{out}{err}"
    executed = quiet_env / "build" / "01_optimal_transport_1d.ipynb"
    for output in _outputs(executed):
        assert output["output_type"] != "error", output
        assert output.get("name") != "stderr", f"a cell wrote to stderr: {''.join(output['text'])}"
        text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
        assert not NAMED_FAULT.search(text), f"a cell printed a warning or an exception: {text}"


def test_shutdown_waits_until_the_kernel_has_finished_its_last_request(quiet_env, capfd):
    # papermill's last request before the shutdown is a kernel_info_request; a kernel that takes a second to finish
    # handling it (after the reply is sent) used to get the shutdown's SIGINT inside the handler every time.
    slow = _notebook(
        quiet_env,
        "slow_kernel_info",
        """import time
kernel = get_ipython().kernel
handler = kernel.shell_handlers["kernel_info_request"]

async def slow_kernel_info(*args):
    result = handler(*args)
    if result is not None:
        await result
    time.sleep(1.0)

kernel.shell_handlers["kernel_info_request"] = slow_kernel_info""",
    )
    notebooks.execute_notebook(slow, quiet_env / "out.ipynb", parameters={})
    out, err = capfd.readouterr()
    assert not _fault_lines(out + err), f"the run printed:\n{out}{err}"


@pytest.mark.skipif(sys.platform == "win32", reason="the IPC transport needs Unix sockets")
def test_kernels_are_reached_over_ipc():
    assert notebooks.kernel_config().KernelManager.transport == "ipc"


def test_real_warnings_and_errors_still_come_through(quiet_env):
    failing = _notebook(
        quiet_env,
        "failing",
        "import warnings\nwarnings.warn('a real warning')",
        "1 / 0",
        "print('never run')",
    )
    target = quiet_env / "failing_out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError, match="ZeroDivisionError"):
        notebooks.execute_notebook(failing, target, parameters={})
    outputs = list(_outputs(target))
    assert any(o.get("name") == "stderr" and "UserWarning: a real warning" in "".join(o["text"]) for o in outputs)
    assert any(o["output_type"] == "error" and o["ename"] == "ZeroDivisionError" for o in outputs)
    assert not any("never run" in "".join(o.get("text", "")) for o in outputs)
