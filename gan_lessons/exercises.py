"""Checks for the lessons' exercises: each looks at a student's answer and says what is right, or
what is most likely wrong and where to look — not just pass or fail.

Every check prints its message and returns ``True`` when the answer is right, so it works both
in a notebook cell and in an ``assert``.
"""

from __future__ import annotations

import numpy as np

from gan_lessons import config
from gan_lessons.config import keras, tf
from gan_lessons.losses import gradient_penalty


def _verdict(right: bool, message: str) -> bool:
    print(("✓ " if right else "✗ ") + message)
    return right


# ---------------------------------------------------------------- lesson 00

def check_mae_tracker(model_class: type[keras.Model], seed: int = 0) -> bool:
    """Lesson 00, exercise 1: a ``LineFit`` subclass that also logs ``"mae"`` in training and
    evaluation, as the mean absolute error over all examples (not the last batch's)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (256, 1)).astype("float32")
    y = (3 * x - 1 + 0.5 * rng.standard_normal((256, 1))).astype("float32")
    config.seed_everything(seed)
    model = model_class()
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    logs = model.fit(x, y, batch_size=32, epochs=2, validation_data=(x[:64], y[:64]), verbose=0).history
    if "mae" not in logs:
        return _verdict(False, f"fit logged {sorted(logs)}: add a tracker named 'mae', list it in `metrics`, and "
                               "update it in train_step")
    if "val_mae" not in logs:
        return _verdict(False, "'mae' is logged in training but not by evaluate: update the tracker in test_step too")
    errors = np.abs(y[:64] - model.predict(x[:64], verbose=0))
    expected, last_batch = float(errors.mean()), float(errors[-32:].mean())
    if abs(logs["val_mae"][-1] - expected) < 1e-4:
        return _verdict(True, f"val_mae {logs['val_mae'][-1]:.4f} is the mean absolute error over all 64 examples")
    if abs(logs["val_mae"][-1] - last_batch) < 1e-4:
        return _verdict(False, "val_mae is the last batch's error: return tracker.result(), not the batch value")
    return _verdict(False, f"val_mae {logs['val_mae'][-1]:.4f}, but the mean |y − ŷ| is {expected:.4f}: "
                           "is it the absolute (not squared) error, averaged over the batch?")


# ---------------------------------------------------------------- lesson 01

def check_masking_corruption(model: keras.Model, share: float = 0.3) -> bool:
    """Lesson 01, exercise 2: ``model.corrupt`` sets a random ``share`` of the pixels to zero, a
    fresh mask on every call, and leaves the other pixels as they were."""
    images = np.full((16, 28, 28, 1), 0.5, dtype="float32")
    first, second = (keras.ops.convert_to_numpy(model.corrupt(images)) for _ in range(2))
    zeroed = float(np.mean(first == 0))
    if np.any((first != 0) & (first != 0.5)):
        return _verdict(False, "some kept pixels changed value: keep them as they are (keras.ops.where(keep, x, 0))")
    if abs(zeroed - share) > 0.03:
        return _verdict(False, f"{zeroed:.0%} of the pixels are zero, the exercise asks for {share:.0%}: compare "
                               f"the uniform draw with {share} the right way round")
    if np.array_equal(first, second):
        return _verdict(False, "two calls gave the same mask: draw with seed=self.seed_generator, not a fixed seed")
    return _verdict(True, f"{zeroed:.1%} of the pixels zeroed, a new mask on every call, the rest unchanged")


# ---------------------------------------------------------------- lesson 02

KL_EXERCISE_MEAN = np.array([1.0, -0.5])
KL_EXERCISE_LOG_VAR = np.array([0.3, -1.0])


def _kl(mean: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    return -0.5 * (1 + log_var - mean**2 - np.exp(log_var))


def check_kl_estimate(estimate: float, samples: int = 100_000) -> bool:
    """Lesson 02, exercise 1: a Monte Carlo estimate of KL(q ‖ N(0, I)) for μ = (1, −0.5),
    log σ² = (0.3, −1), against the closed form; recognises the usual slips."""
    per_dimension = _kl(KL_EXERCISE_MEAN, KL_EXERCISE_LOG_VAR)
    exact = float(per_dimension.sum())
    tolerance = 5 * np.sqrt(2.0 / samples) + 1e-3  # a few standard errors of the estimate
    slips = {
        "the sign is flipped: the KL is E_q[log q(z) − log p(z)], not log p − log q": -exact,
        "that is the first dimension only: sum the log densities over both latent dimensions":
            float(per_dimension[0]),
        "log σ² was used as log σ somewhere: the standard deviation is exp(½ log σ²)":
            float(_kl(KL_EXERCISE_MEAN, 2 * KL_EXERCISE_LOG_VAR).sum()),
    }
    if abs(estimate - exact) <= tolerance:
        return _verdict(True, f"{estimate:.4f} agrees with the closed form {exact:.4f} within Monte Carlo error")
    for hint, value in slips.items():
        if abs(estimate - value) <= tolerance:
            return _verdict(False, f"{estimate:.4f}: {hint}")
    return _verdict(False, f"{estimate:.4f}, but the closed form gives {exact:.4f} (Monte Carlo error with "
                           f"{samples:,} samples is about {tolerance / 5:.3f}); check both log densities")


def check_iwae_bounds(nll_by_k: dict[int, float]) -> bool:
    """Lesson 02, exercise 2: NLL estimates −L_k for several k; they must be positive (nats) and
    fall as k grows (L_1 ≤ L_k ≤ log p(x)), up to Monte Carlo noise."""
    ks = sorted(nll_by_k)
    values = [float(nll_by_k[k]) for k in ks]
    if any(v < 0 for v in values):
        return _verdict(False, "negative NLL: report −L_k (the bound is a log-probability, negative in nats)")
    rises = [(a, b) for a, b, va, vb in zip(ks, ks[1:], values, values[1:]) if vb > va + 0.05]
    if rises:
        a, b = rises[0]
        return _verdict(False, f"the estimate grows from k = {a} to k = {b}: more samples can only tighten the "
                               "bound; check the log-mean-exp (logsumexp minus log k) and that k samples are used")
    return _verdict(True, "the NLL estimates fall with k: " + ", ".join(f"k={k}: {v:.2f}" for k, v in zip(ks, values)))


# ---------------------------------------------------------------- lesson 03

def check_one_sided_smoothing(d_loss, real_target: float = 0.9) -> bool:
    """Lesson 03, exercise 3 (the right way round): ``d_loss(real_logits, fake_logits)`` with
    one-sided label smoothing — real targets ``real_target``, fake targets 0 — on logits."""
    rng = np.random.default_rng(0)
    real, fake = (rng.normal(0, 2, (64, 1)).astype("float32") for _ in range(2))

    def bce(target, logits):  # independent closed form: mean of −t log σ(ℓ) − (1 − t) log(1 − σ(ℓ))
        return float(np.mean(target * np.logaddexp(0, -logits) + (1 - target) * np.logaddexp(0, logits)))

    value = float(keras.ops.convert_to_numpy(d_loss(real, fake)))
    expected = bce(real_target, real) + bce(0.0, fake)
    if abs(value - expected) < 1e-4:
        return _verdict(True, f"one-sided: real targets {real_target}, fake targets 0 ({value:.4f})")
    if abs(value - (bce(real_target, real) + bce(1 - real_target, fake))) < 1e-4:
        return _verdict(False, "the fake targets are smoothed too (two-sided, Keras' label_smoothing): that "
                               "rewards D for calling fakes a little real; keep fake targets at 0")
    if abs(value - (bce(1.0, real) + bce(0.0, fake))) < 1e-4:
        return _verdict(False, f"no smoothing: the real targets should be {real_target}")
    squashed = bce(real_target, 1 / (1 + np.exp(-real))) + bce(0.0, 1 / (1 + np.exp(-fake)))
    if abs(value - squashed) < 1e-4:
        return _verdict(False, "a sigmoid was applied before a loss on logits: D outputs logits, so use the BCE on "
                               "logits directly (from_logits=True), with no sigmoid of your own")
    return _verdict(False, f"{value:.4f}, expected {expected:.4f} = BCE({real_target}, D(x)) + BCE(0, D(G(z))) on "
                           "logits, averaged over the batch")


# ---------------------------------------------------------------- lesson 04

def check_gradient_penalty(penalty, seed: int = 0) -> bool:
    """Lesson 04, exercise: ``penalty(critic, real, fake, alpha)`` returning E[(‖∇C(x̂)‖₂ − 1)²] at
    x̂ = αx + (1 − α)G(z), one α per image, the norm taken over each image's pixels."""
    rng = np.random.default_rng(seed)
    config.seed_everything(seed)
    critic = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(8, activation="tanh"),
                               keras.layers.Dense(1)])
    real, fake = (rng.normal(0, 1, (16, 4, 4, 1)).astype("float32") for _ in range(2))
    alpha = rng.uniform(0, 1, (16, 1, 1, 1)).astype("float32")
    value = float(keras.ops.convert_to_numpy(penalty(critic, real, fake, alpha)))
    expected = float(keras.ops.convert_to_numpy(gradient_penalty(critic, real, fake, alpha)))
    if abs(value - expected) < 1e-4 * max(1.0, abs(expected)):
        return _verdict(True, f"the penalty is {value:.4f}, one gradient norm per image")
    x_hat = tf.constant(alpha * real + (1 - alpha) * fake)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat)
    gradients = tape.gradient(scores, x_hat).numpy().reshape(16, -1)
    whole_batch = (np.linalg.norm(gradients) - 1) ** 2
    if abs(value - whole_batch) < 1e-4 * max(1.0, whole_batch):
        return _verdict(False, "one norm over the whole batch: take the norm per image (sum the squares over all "
                               "axes but the batch axis), then average (‖g‖ − 1)² over the batch")
    squared_norms = np.sum(gradients**2, axis=1)
    if abs(value - np.mean((squared_norms - 1) ** 2)) < 1e-4 * max(1.0, abs(value)):
        return _verdict(False, "the squared norm was used: take the square root of the summed squares first")
    return _verdict(False, f"{value:.4f}, expected {expected:.4f}: interpolate x̂ = αx + (1 − α)G(z), differentiate "
                           "the critic's scores with respect to x̂ (GradientTape.watch), and average (‖∇C(x̂)‖₂ − 1)²")
