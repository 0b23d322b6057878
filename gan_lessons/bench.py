"""Measure the course's speed on this machine, against the machine's own limit and a reference GAN.

    python -m gan_lessons.bench                 # everything (about 15–25 minutes on 2 CPU cores)
    python -m gan_lessons.bench --skip-quality  # throughput and FLOPs only (about 2 minutes)

Reports, as Markdown and JSON under ``--out``: the measured float32 matrix-multiply peak; for
each model its training samples per second, estimated FLOPs per training sample and the share
of the peak that achieves; and the **time to quality** of lesson 03's DCGAN against a reference
DCGAN with the keras-io architecture (Conv2D 64/128 discriminator; Dense 7·7·128 and two
Conv2DTranspose 128 generator; batch 64; Adam 3·10⁻⁴), trained on the same digits until
its samples reach the GAN targets of lesson 03 (all 10 classes, ≥ 60 % confident).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gan_lessons import config, data, evaluation, networks
from gan_lessons.config import keras, tf
from gan_lessons.models import GAN

layers = keras.layers
TARGET = {"classes_covered": 10, "confident_share": 0.60}


def matmul_peak(size: int = 1024, repeats: int = 20) -> float:
    """Best sustained float32 GFLOP/s of a square matrix product on this machine."""
    a = tf.random.normal((size, size))
    product = tf.function(lambda m: tf.linalg.matmul(m, m))
    product(a)  # trace and warm up
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            result = product(a)
        result.numpy()
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9)
    return best


def forward_flops(network: keras.Model) -> float:
    """Multiply-add FLOPs (2 per multiply-add) of one forward pass of one example, counted from
    the Dense, convolution and LSTM layers of a functional network (the rest is negligible)."""
    total = 0.0
    for layer in network.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        elif isinstance(layer, layers.Dense):
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1] * _positions(layer.output.shape[1:-1])
        elif isinstance(layer, layers.Conv2DTranspose):
            kh, kw, c_out, c_in = layer.kernel.shape
            total += 2 * kh * kw * c_in * c_out * _positions(layer.input.shape[1:-1])
        elif isinstance(layer, layers.Conv2D):
            kh, kw, c_in, c_out = layer.kernel.shape
            total += 2 * kh * kw * c_in * c_out * _positions(layer.output.shape[1:-1])
        elif isinstance(layer, layers.LSTM):
            steps, features = layer.input.shape[1:]
            total += steps * 2 * 4 * layer.units * (features + layer.units)
    return float(total)


def _positions(spatial_shape) -> int:
    return int(np.prod([d for d in spatial_shape if d is not None])) if len(spatial_shape) else 1


def gan_training_flops(model: GAN) -> float:
    """FLOPs per real example of one GAN step: the D step runs G forward and D forward and
    backward on a real and a fake batch; the G step runs G and D forward and backward. Backward
    ≈ 2 × forward."""
    g, d = forward_flops(model.generator), forward_flops(model.discriminator)
    return model.d_steps * (g + 2 * 3 * d) + 3 * g + 3 * d


def keras_io_generator(latent_dim: int = 128) -> keras.Model:
    """The keras-io DCGAN generator: Dense 7·7·128, two stride-2 Conv2DTranspose(128, 4), a 7×7
    sigmoid convolution (images in [0, 1])."""
    inputs = keras.Input((latent_dim,))
    x = layers.LeakyReLU(negative_slope=0.2)(layers.Dense(7 * 7 * 128)(inputs))
    x = layers.Reshape((7, 7, 128))(x)
    for _ in range(2):
        x = layers.LeakyReLU(negative_slope=0.2)(layers.Conv2DTranspose(128, 4, strides=2, padding="same")(x))
    return keras.Model(inputs, layers.Conv2D(1, 7, padding="same", activation="sigmoid")(x), name="reference_generator")


def keras_io_discriminator() -> keras.Model:
    """The keras-io DCGAN discriminator: stride-2 Conv2D 64 and 128 (3×3, LeakyReLU), global max
    pooling, one logit."""
    inputs = keras.Input(networks.IMAGE_INPUT)
    x = inputs
    for filters in (64, 128):
        x = layers.LeakyReLU(negative_slope=0.2)(layers.Conv2D(filters, 3, strides=2, padding="same")(x))
    x = layers.GlobalMaxPooling2D()(x)
    return keras.Model(inputs, layers.Dense(1)(x), name="reference_discriminator")


def lesson_dcgan() -> tuple[GAN, int, str]:
    """Lesson 03's DCGAN with its settings; returns the model, its batch size and its pixel range."""
    model = GAN(networks.dcgan_generator(100, extra_convolutions=1), networks.dcgan_discriminator(width=32),
                real_label=0.9, ema=0.999, seed=0)
    adam = lambda: keras.optimizers.Adam(4e-4, beta_1=0.5)  # noqa: E731 (one per player)
    model.compile(d_optimizer=adam(), g_optimizer=adam())
    return model, 32, "signed"


def reference_dcgan() -> tuple[GAN, int, str]:
    """The keras-io DCGAN, trained by the same GAN class with its own settings (batch 64, Adam 3e-4)."""
    model = GAN(keras_io_generator(), keras_io_discriminator(), seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(3e-4), g_optimizer=keras.optimizers.Adam(3e-4))
    return model, 64, "unit"


def throughput(model: keras.Model, dataset, examples: int, epochs: int = 3) -> float:
    """Training examples per second in the fastest of ``epochs`` epochs, after one epoch that
    traces and warms up (the fastest, because a shared machine only ever slows a run down)."""
    model.fit(dataset, epochs=1, verbose=0)
    fastest = float("inf")
    for _ in range(epochs):
        start = time.perf_counter()
        model.fit(dataset, epochs=1, verbose=0)
        fastest = min(fastest, time.perf_counter() - start)
    return examples / fastest


def time_to_quality(build: Callable[[], tuple[GAN, int, str]], limit_seconds: float, digits: data.Digits) -> dict:
    """Train epoch by epoch until 1,000 samples meet ``TARGET`` or ``limit_seconds`` of training
    pass; measurement time is not counted."""
    config.seed_everything(0)
    model, batch_size, value_range = build()
    train = data.make_dataset(data.scale_pixels(digits.x_train, value_range), batch_size=batch_size, seed=0)
    reference, classifier = data.scale_pixels(digits.x_test), evaluation.load_classifier()
    seconds, epochs, trace = 0.0, 0, []
    while seconds < limit_seconds:
        start = time.perf_counter()
        model.fit(train, epochs=1, verbose=0)
        seconds += time.perf_counter() - start
        epochs += 1
        samples = data.unscale_pixels(model.generate(1000, seed=0), value_range)
        metrics = evaluation.digit_metrics(samples, reference, classifier)
        trace.append({"epoch": epochs, "seconds": round(seconds, 1),
                      **{k: round(float(metrics[k]), 3) for k in ("confident_share", "classes_covered", "fid")}})
        print(f"  {model.generator.name}: epoch {epochs}, {seconds:.0f} s, {trace[-1]}", flush=True)
        if all(metrics[k] >= v for k, v in TARGET.items()):
            return {"reached": True, "seconds": seconds, "epochs": epochs, "trace": trace}
    return {"reached": False, "seconds": seconds, "epochs": epochs, "trace": trace}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench_results", help="folder for results.json and results.md")
    parser.add_argument("--skip-quality", action="store_true", help="skip the time-to-quality race")
    args = parser.parse_args(argv)
    print(config.setup(0), flush=True)
    digits = data.load_digits("bundled", verbose=False)
    peak = matmul_peak()
    results = {"machine": {"platform": platform.platform(), "device": config.device_report(),
                           "matmul_peak_gflops": round(peak, 1)}, "models": {}}
    for name, build in [("lesson 03 DCGAN", lesson_dcgan), ("keras-io reference DCGAN", reference_dcgan)]:
        config.seed_everything(0)
        model, batch_size, value_range = build()
        dataset = data.make_dataset(data.scale_pixels(digits.x_train, value_range), batch_size=batch_size, seed=0)
        rate = throughput(model, dataset, len(digits.x_train))
        flops = gan_training_flops(model)
        results["models"][name] = {"samples_per_second": round(rate, 1), "gflops_per_sample": round(flops / 1e9, 4),
                                   "share_of_peak": round(rate * flops / 1e9 / peak, 4),
                                   "parameters": model.generator.count_params() + model.discriminator.count_params()}
        print(name, results["models"][name], flush=True)
    if not args.skip_quality:
        ours = time_to_quality(lesson_dcgan, 900.0, digits)
        theirs = time_to_quality(reference_dcgan, 3 * ours["seconds"], digits)
        results["time_to_quality"] = {"target": TARGET, "lesson 03 DCGAN": ours, "keras-io reference DCGAN": theirs,
                                      "ratio": round(theirs["seconds"] / ours["seconds"], 2) if theirs["reached"]
                                      else f"> {theirs['seconds'] / ours['seconds']:.1f} (reference never reached it)"}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(markdown(results))
    print(markdown(results))


def markdown(results: dict) -> str:
    """The results as the Markdown tables the README quotes."""
    machine = results["machine"]
    lines = [f"Machine: {machine['device']}; {machine['platform']}; measured float32 matmul peak "
             f"{machine['matmul_peak_gflops']:.0f} GFLOP/s.", "",
             "| model | parameters | training examples/s | GFLOP per example (est.) | share of matmul peak |",
             "|---|---|---|---|---|"]
    lines += [f"| {name} | {m['parameters']:,} | {m['samples_per_second']:.0f} | {m['gflops_per_sample']:.3f} | "
              f"{m['share_of_peak']:.0%} |" for name, m in results["models"].items()]
    race = results.get("time_to_quality")
    if race:
        target = ", ".join(f"{k} ≥ {v}" for k, v in race["target"].items())
        lines += ["", f"Time to quality ({target}; 1,000 samples after each epoch; training time only):", "",
                  "| model | reached | epochs | seconds |", "|---|---|---|---|"]
        lines += [f"| {name} | {'yes' if r['reached'] else 'no'} | {r['epochs']} | {r['seconds']:.0f} |"
                  for name, r in race.items() if isinstance(r, dict) and "reached" in r]
        lines += ["", f"Ratio (reference / lesson): {race['ratio']}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
