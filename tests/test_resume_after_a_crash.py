"""What a user's crash does: a long run killed with SIGKILL after an epoch, started again, must end
with bit-for-bit the weights of a run that was never interrupted (shuffle order and dynamic
binarization included: the pipeline is put back at the saved epoch)."""

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("crash_run.py")
EPOCHS = 5


def run(kind, out, state, wait_after=None):
    command = [sys.executable, str(SCRIPT), kind, str(EPOCHS), str(out)] + ([str(wait_after)] if wait_after else [])
    environment = {**os.environ, "GAN_LESSONS_STATE": str(state)}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)


def wait_for_line(process, wanted, seconds=300):
    """Read the process's output until ``wanted`` (True), it ends, or ``seconds`` pass (False): never hang."""
    deadline, selector = time.monotonic() + seconds, selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    while (left := deadline - time.monotonic()) > 0 and selector.select(timeout=left):
        line = process.stdout.readline()
        if not line:
            return False
        if line.strip() == wanted:
            return True
    return False


def weights(path):
    with np.load(path) as saved:
        return [saved[name] for name in sorted(saved.files, key=lambda name: int(name.split("_")[1]))]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
@pytest.mark.parametrize("kind", ["gan", "vae"])
@pytest.mark.parametrize("killed_after", [1, 3])
def test_a_run_killed_after_an_epoch_and_restarted_is_the_uninterrupted_run(kind, killed_after, tmp_path):
    straight = run(kind, tmp_path / "straight.npz", tmp_path / "state_straight")
    crashed = run(kind, tmp_path / "never_written.npz", tmp_path / "state", wait_after=killed_after)
    try:  # read until this epoch's state is saved, then kill as a dying kernel would
        saved = wait_for_line(crashed, f"saved epoch {killed_after}")
        crashed.send_signal(signal.SIGKILL)
        crashed.wait()
        assert saved, crashed.stderr.read()[-2000:]
        assert crashed.returncode == -signal.SIGKILL and not (tmp_path / "never_written.npz").exists()
        resumed = run(kind, tmp_path / "resumed.npz", tmp_path / "state")
        out, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, err[-2000:]
        assert out.split()[:3] == ["saved", "epoch", str(killed_after + 1)], out  # it resumed; it did not start over
        straight_out, straight_err = straight.communicate(timeout=300)
        assert straight.returncode == 0, straight_err[-2000:]
    finally:
        for process in (straight, crashed):
            if process.poll() is None:
                process.kill()
                process.wait()
    for a, b in zip(weights(tmp_path / "straight.npz"), weights(tmp_path / "resumed.npz"), strict=True):
        np.testing.assert_array_equal(a, b)
