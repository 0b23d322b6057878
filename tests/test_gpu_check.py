"""The GPU check runs on any machine: at tiny sizes it reports every check, and on a CPU it says so."""

import subprocess
import sys


def test_the_gpu_check_runs_every_check_in_fast_mode():
    run = subprocess.run([sys.executable, "-m", "gan_lessons.gpu_check", "--fast"], capture_output=True, text=True,
                         timeout=600)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr[-2000:]
    first = out.splitlines()[0]
    assert first.startswith("device: ") and ("CPU only" in first or "GPU:" in first)
    assert "TF32 after config.seed_everything: off" in first
    for seen in ("first convolution, matrix product and LSTM gradient", "wgan_gp: one epoch twice",
                 "adversarial_recurrent_vae (sines): one epoch twice", "importance-weighted bound", "bounds finite",
                 "discriminative score twice from seed 0", "tight tests: not run in fast mode",
                 "two processes at once: trained 20 steps on", "all 6 checks passed"):
        assert seen in out, f"{seen!r} not in:\n{out}"
