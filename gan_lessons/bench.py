"""Measure the course's speed on this machine, against the machine's own limit and a reference GAN.

    python -m gan_lessons.bench                  # everything (about 30 minutes on 2 CPU cores)
    python -m gan_lessons.bench --skip-quality   # speed, FLOPs and memory only (about 4 minutes)
    python -m gan_lessons.bench --settings       # also: 1 against 10 steps per execution, each model

For each lesson's main model (built by ``gan_lessons.recipes``, so exactly what the lesson trains)
and for a reference DCGAN with the keras-io architecture (Conv2D 64/128 discriminator; Dense
7·7·128 and two Conv2DTranspose 128 generator; batch 64; Adam 3·10⁻⁴) on the same digits, it
measures training examples per second, estimated FLOPs per training example and the share of the
machine's measured float32 matrix-multiply peak that achieves, peak memory (each model in its own
process), and the **time to quality**: training seconds until the model's samples or held-out
scores meet its target (``QUALITY``). Lesson 03's DCGAN is raced against the reference to the
same target. Results go to ``--out`` as Markdown and JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_lessons import baselines, config, data, evaluation, networks, recipes
from gan_lessons.config import keras, tf
from gan_lessons.models import GAN, VAEGAN
from gan_lessons.recipes import Recipe

layers = keras.layers
DIGIT_TARGET = {"classes_covered": 10, "confident_share": 0.60}
SINE_TARGET = {"in_range": 0.90, "mmd_ratio": 1 / 3}


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
    if isinstance(network, networks.RecurrentDecoder):
        return _recurrent_decoder_flops(network)
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


def _recurrent_decoder_flops(decoder: networks.RecurrentDecoder) -> float:
    """One LSTM cell and one output layer per step, plus the map from z to the initial state."""
    step_input = decoder.cell.kernel.shape[0]
    per_step = 2 * 4 * decoder.units * (step_input + decoder.units) + 2 * decoder.units * decoder.features
    initial = 2 * decoder.latent_dim * 2 * decoder.units if decoder.to_state is not None else 0
    return float(decoder.steps * per_step + initial)


def _positions(spatial_shape) -> int:
    return int(np.prod([d for d in spatial_shape if d is not None])) if len(spatial_shape) else 1


def gan_training_flops(model: GAN) -> float:
    """FLOPs per real example of one GAN step: the D step runs G forward and D forward and
    backward on a real and a fake batch; the G step runs G and D forward and backward. Backward
    ≈ 2 × forward; a packed D judges ``packing`` examples per pass."""
    g, d = forward_flops(model.generator), forward_flops(model.discriminator) / model.packing
    return model.d_steps * (g + 2 * 3 * d) + 3 * g + 3 * d


def training_flops(model: keras.Model) -> float:
    """Estimated FLOPs per training example of one step of ``model`` (backward ≈ 2 × forward)."""
    if isinstance(model, GAN):
        return gan_training_flops(model)
    e, g = forward_flops(model.encoder), forward_flops(model.decoder)
    if isinstance(model, VAEGAN):  # x̃ and a prior sample decoded; D on x, x̃ and the prior sample (+ features)
        d = forward_flops(model.discriminator)
        return 3 * (e + 2 * g + 5 * d)
    return 3 * (e + g)


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


def reference_dcgan(x: np.ndarray, *, seed: int = 0, **compile_options) -> Recipe:
    """The keras-io DCGAN, trained by the same GAN class with its own settings (batch 64, Adam
    3e-4, images in [0, 1])."""
    x = data.scale_pixels(x)
    config.seed_everything(seed)
    model = GAN(keras_io_generator(), keras_io_discriminator(), seed=seed)
    model.compile(d_optimizer=keras.optimizers.Adam(3e-4), g_optimizer=keras.optimizers.Adam(3e-4), **compile_options)
    return Recipe("keras-io reference DCGAN", "—", model, data.make_dataset(x, batch_size=64, seed=seed), x)


BUILDERS: dict[str, Callable[..., Recipe]] = {**recipes.DIGIT_RECIPES, "lstm_gan": recipes.lstm_gan,
                                              "reference": reference_dcgan}
# XLA is not among them: Keras turns jit_compile off while TensorFlow's deterministic ops are on,
# and the lessons keep those on so that a rerun gives the same pictures.
SETTINGS = {"steps_per_execution=1": {"steps_per_execution": 1}, "steps_per_execution=10": {"steps_per_execution": 10}}


@dataclass
class Quality:
    """A model's quality target, how to measure it on held-out data, and whether a measurement meets it."""

    target: str
    measure: Callable[[Recipe], dict]
    met: Callable[[dict], bool]


def build(key: str, digits: data.Digits, **compile_options) -> Recipe:
    """The benchmark's model ``key`` on its data: the bundled training digits, or 5,000 sine waves."""
    x = data.sine_waves(5000, seed=0).x if key == "lstm_gan" else digits.x_train
    return BUILDERS[key](x, seed=0, **compile_options)


def quality(key: str, digits: data.Digits) -> Quality:
    """Each model's target, taken from its lesson: lesson 03's GAN targets for both DCGANs, a FID
    well below the VAE's for the WGAN-GP and the VAE-GAN, a held-out −ELBO for the likelihood models, half of PCA's
    reconstruction error for the autoencoder, lesson 08's in-range share and MMD² ratio for the
    LSTM-GAN."""
    test = data.scale_pixels(digits.x_test)
    if key == "autoencoder":
        bar = 0.5 * float(np.mean((baselines.PCA(16).fit(data.scale_pixels(digits.x_train)).reconstruct(test)
                                   - test) ** 2))
        return Quality(f"held-out MSE ≤ ½ × PCA-16's ({bar:.4f})",
                       lambda r: {"mse": float(np.mean((r.model.reconstruct(test) - test) ** 2))},
                       lambda m: m["mse"] <= bar)
    if key in ("vae", "recurrent_vae"):
        binary = data.binarize(test)  # statically, as lessons 02 and 07 report −ELBO
        held_out = binary.reshape(-1, 28, 28) if key == "recurrent_vae" else binary  # rows as steps
        bar = 100.0 if key == "vae" else 105.0
        return Quality(f"held-out −ELBO ≤ {bar:.0f} nats",
                       lambda r: {"neg_elbo": r.model.evaluate(held_out, batch_size=250, verbose=0,
                                                                return_dict=True)["neg_elbo"]},
                       lambda m: m["neg_elbo"] <= bar)
    if key == "lstm_gan":
        reference = data.sine_waves(1000, seed=1)
        return Quality("sines in range ≥ 90 %, MMD² ≤ ⅓ × noise's",
                       lambda r: evaluation.sine_metrics(r.model.generate(1000, seed=0), reference, seed=0),
                       lambda m: m["in_range"] >= SINE_TARGET["in_range"]
                       and m["mmd_ratio"] <= SINE_TARGET["mmd_ratio"])
    classifier = evaluation.load_classifier()

    def measure(recipe: Recipe) -> dict:
        return evaluation.digit_metrics(recipes.generated_digits(recipe, 1000, seed=0), test, classifier)

    if key in ("vae_gan", "wgan_gp"):  # lessons 04 and 06: a FID well below the VAE's (52.9), all classes
        return Quality("10 classes, FID ≤ 40 (1,000 samples)", measure,
                       lambda m: m["classes_covered"] >= 10 and m["fid"] <= 40)
    return Quality("10 classes, ≥ 60 % confident (1,000 samples)", measure,
                   lambda m: all(m[k] >= v for k, v in DIGIT_TARGET.items()))


def throughput(recipes_by_label: dict[str, Recipe], rounds: int = 3, window_seconds: float = 3.0) -> dict[str, float]:
    """Training examples per second of each recipe: the best of ``rounds`` windows of whole
    epochs lasting at least ``window_seconds`` each, after one epoch that traces and warms up.
    Windows of the recipes alternate, so a slow minute of a shared machine hits all of them, and
    the best window counts, because such a machine only ever slows a run down."""
    epochs, best = {}, dict.fromkeys(recipes_by_label, 0.0)
    for label, recipe in recipes_by_label.items():
        start = time.perf_counter()
        recipe.model.fit(recipe.train, epochs=1, verbose=0)
        epochs[label] = max(1, int(np.ceil(window_seconds / (time.perf_counter() - start))))
    for _ in range(rounds):
        for label, recipe in recipes_by_label.items():
            start = time.perf_counter()
            recipe.model.fit(recipe.train, epochs=epochs[label], verbose=0)
            best[label] = max(best[label], epochs[label] * recipe.examples / (time.perf_counter() - start))
    return best


def pipeline_rate(dataset, examples: int) -> float:
    """Examples per second the input pipeline alone delivers (one pass, after a warm-up pass): how
    far it is from being the bottleneck."""
    for _ in dataset:
        pass
    start = time.perf_counter()
    for _ in dataset:
        pass
    return examples / (time.perf_counter() - start)


def time_to_quality(recipe: Recipe, target: Quality, limit_seconds: float) -> dict:
    """Train epoch by epoch until ``target`` is met or ``limit_seconds`` of training pass;
    measurement time is not counted."""
    seconds, epochs, trace = 0.0, 0, []
    while seconds < limit_seconds:
        start = time.perf_counter()
        recipe.model.fit(recipe.train, epochs=1, verbose=0)
        seconds += time.perf_counter() - start
        epochs += 1
        metrics = target.measure(recipe)
        trace.append({"epoch": epochs, "seconds": round(seconds, 1),
                      **{k: round(float(v), 4) for k, v in metrics.items()}})
        print(f"  {recipe.name}: epoch {epochs}, {seconds:.0f} s, {metrics}", flush=True)
        if target.met(metrics):
            return {"target": target.target, "reached": True, "seconds": seconds, "epochs": epochs, "trace": trace}
    return {"target": target.target, "reached": False, "seconds": seconds, "epochs": epochs, "trace": trace}


def _peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def measure_model(key: str, peak_gflops: float, quality_limit: float | None, settings: bool) -> dict:
    """Everything the benchmark measures for one model; meant to run in a fresh process, so that
    the peak memory is this model's own."""
    config.seed_everything(0)
    digits = data.load_digits("bundled", verbose=False)
    baseline = _peak_memory_mb()
    recipe = build(key, digits)  # with its lesson's settings
    rate = throughput({"lesson": recipe})["lesson"]
    peak_memory = _peak_memory_mb()
    flops = training_flops(recipe.model)
    result = {"name": recipe.name, "lesson": recipe.lesson, "parameters": recipe.parameters,
              "samples_per_second": round(rate, 1), "pipeline_per_second": round(pipeline_rate(recipe.train,
                                                                                               recipe.examples)),
              "gflops_per_sample": round(flops / 1e9, 4),
              "share_of_peak": round(rate * flops / 1e9 / peak_gflops, 4),
              "peak_memory_mb": round(peak_memory), "memory_before_model_mb": round(baseline)}
    if settings:
        variants = {label: build(key, digits, **options) for label, options in SETTINGS.items()}
        result["settings"] = {label: round(value, 1) for label, value in throughput(variants).items()}
        # The lesson's own setting was timed twice; like every window, the faster time counts.
        rate = max(rate, result["settings"][f"steps_per_execution={recipe.model.steps_per_execution}"])
        result["samples_per_second"] = round(rate, 1)
        result["share_of_peak"] = round(rate * flops / 1e9 / peak_gflops, 4)
    if quality_limit:
        recipe = build(key, digits)
        result["time_to_quality"] = time_to_quality(recipe, quality(key, digits), quality_limit)
    return result


def _in_own_process(key: str, peak_gflops: float, quality_limit: float | None, settings: bool) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, "-m", "gan_lessons.bench", "--one", key, "--peak", str(peak_gflops),
                   "--quality-limit", str(quality_limit or 0), "--result", str(out)] + (["--settings"] * settings)
        subprocess.run(command, check=True)
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench_results", help="folder for results.json and results.md")
    parser.add_argument("--skip-quality", action="store_true", help="skip the time-to-quality runs")
    parser.add_argument("--settings", action="store_true", help="also time 1 against 10 steps per execution")
    parser.add_argument("--models", nargs="+", choices=list(BUILDERS), default=list(BUILDERS))
    parser.add_argument("--one", choices=list(BUILDERS), help=argparse.SUPPRESS)  # a child process's model
    parser.add_argument("--peak", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--quality-limit", type=float, default=600.0, help="seconds of training per model")
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        result = measure_model(args.one, args.peak, args.quality_limit, args.settings)
        Path(args.result).write_text(json.dumps(result))
        return
    print(config.setup(0), flush=True)
    peak = matmul_peak()
    results = {"machine": {"platform": platform.platform(), "device": config.device_report(),
                           "matmul_peak_gflops": round(peak, 1)}, "models": {}}
    limit = None if args.skip_quality else args.quality_limit
    for key in [k for k in args.models if k != "reference"]:
        results["models"][key] = _in_own_process(key, peak, limit, args.settings)
        print(key, {k: v for k, v in results["models"][key].items() if k != "time_to_quality"}, flush=True)
    if "reference" in args.models:
        ours = results["models"].get("gan", {}).get("time_to_quality")
        reference_limit = limit and (3 * ours["seconds"] if ours else limit)
        results["models"]["reference"] = _in_own_process("reference", peak, reference_limit, args.settings)
        theirs = results["models"]["reference"].get("time_to_quality")
        if ours and theirs and ours["reached"]:
            results["race"] = (round(theirs["seconds"] / ours["seconds"], 2) if theirs["reached"] else
                               f"> {theirs['seconds'] / ours['seconds']:.1f} (the reference never reached it)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(markdown(results))
    print(markdown(results))


def markdown(results: dict) -> str:
    """The results as the Markdown tables the README quotes."""
    machine = results["machine"]
    models = results["models"]
    lines = [f"Machine: {machine['device']}; {machine['platform']}; measured float32 matmul peak "
             f"{machine['matmul_peak_gflops']:.0f} GFLOP/s.", "",
             "| model | lesson | parameters | training examples/s | input pipeline alone, examples/s "
             "| GFLOP per example (est.) | share of matmul peak | peak memory (MB) |", "|---" * 8 + "|"]
    lines += [f"| {m['name']} | {m['lesson']} | {m['parameters']:,} | {m['samples_per_second']:.0f} | "
              f"{m['pipeline_per_second']:,} | {m['gflops_per_sample']:.3f} | {m['share_of_peak']:.0%} | "
              f"{m['peak_memory_mb']:,} |" for m in models.values()]
    lines += ["", f"Peak memory is each process's maximum resident set; TensorFlow and the data alone take "
              f"{min(m['memory_before_model_mb'] for m in models.values()):,} MB."]
    if any("settings" in m for m in models.values()):
        labels = list(SETTINGS)
        lines += ["", "Training examples/s by compile setting (best of 3 alternating windows):", "",
                  "| model | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
        lines += [f"| {m['name']} | " + " | ".join(f"{m['settings'][label]:.0f}" for label in labels) + " |"
                  for m in models.values() if "settings" in m]
    if any("time_to_quality" in m for m in models.values()):
        lines += ["", "Time to quality (measured after every epoch; training seconds only):", "",
                  "| model | target | reached | epochs | seconds |", "|---|---|---|---|---|"]
        lines += [f"| {m['name']} | {r['target']} | {'yes' if r['reached'] else 'no'} | {r['epochs']} | "
                  f"{r['seconds']:.0f} |" for m in models.values() if (r := m.get("time_to_quality"))]
    if "race" in results:
        lines += ["", f"Lesson 03's DCGAN against the keras-io reference (reference seconds / ours): {results['race']}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
