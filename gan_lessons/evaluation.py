"""Numbers every lesson reports: one reference digit classifier and the metrics built on it,
2-D mixture metrics, and the importance-weighted likelihood bound.

Definitions follow ``DESIGN.md`` §7. The classifier sees images in [0, 1] (as it was trained);
convert tanh outputs with ``data.unscale_pixels(x, "signed")`` first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache, lru_cache

import numpy as np

from gan_lessons import config, data
from gan_lessons.config import keras, tf
from gan_lessons.data import SineWaves, check_images, missing_data_error
from gan_lessons.models.base import predict_in_batches

layers = keras.layers
ops = keras.ops
CLASSIFIER_WEIGHTS = "classifier.weights.h5"
CLASSIFIER_REPORT = "classifier.json"
FEATURE_LAYER = "features"


# ---------------------------------------------------------------- rank correlation

def ranks(values) -> np.ndarray:
    """Ranks 1…n of ``values``, ties sharing the mean of the ranks they span (as Spearman's ρ needs)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"ranks takes a 1-D sequence, got shape {values.shape}")
    order = np.argsort(values, kind="stable")
    result = np.empty(len(values))
    result[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        result[tied] = result[tied].mean()
    return result


def rank_correlation(a, b) -> float:
    """Spearman's ρ: the Pearson correlation of the ranks; +1 when b rises whenever a does, −1 when it
    falls. Used to ask whether a training signal (a critic's estimate, a loss) tracks quality (FID)."""
    rank_a, rank_b = ranks(a), ranks(b)
    if len(rank_a) != len(rank_b) or len(rank_a) < 3:
        raise ValueError(f"rank_correlation needs two sequences of equal length ≥ 3, got {len(rank_a)} and "
                         f"{len(rank_b)}")
    if rank_a.std() == 0 or rank_b.std() == 0:
        raise ValueError("rank_correlation is undefined when one sequence is constant")
    return float(np.corrcoef(rank_a, rank_b)[0, 1])


# ---------------------------------------------------------------- the reference classifier

def build_classifier() -> keras.Model:
    """The reference CNN: two conv/pool blocks, a 64-unit feature layer (used for FID), 10 logits.

    Random shifts of up to ±2 pixels during training make it robust to off-centre samples.
    """
    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=0)(inputs)
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3, seed=1)(x)
    x = layers.Dense(64, activation="relu", name=FEATURE_LAYER)(x)
    x = layers.Dropout(0.3, seed=2)(x)
    return keras.Model(inputs, layers.Dense(10, name="logits")(x), name="reference_classifier")


class ReferenceClassifier:
    """The trained classifier from ``gan_lessons/bundled/``: class probabilities and penultimate-layer features."""

    def __init__(self, model: keras.Model, test_accuracy: float):
        self.model = model
        self.feature_model = keras.Model(model.input, model.get_layer(FEATURE_LAYER).output)
        self.test_accuracy = test_accuracy

    @staticmethod
    def _check(images) -> np.ndarray:
        images = check_images(images).astype(np.float32)
        if images.ndim == 3:
            images = images[..., None]
        if images.min() < -1e-3 or images.max() > 1 + 1e-3:
            raise ValueError(
                f"the reference classifier expects images in [0, 1], got [{images.min():.2f}, {images.max():.2f}]; "
                "convert tanh outputs with data.unscale_pixels(images, 'signed')"
            )
        return images

    def probabilities(self, images) -> np.ndarray:
        """p(y | x) for each image, shape (N, 10)."""
        logits = predict_in_batches(self.model, self._check(images), 500).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def features(self, images) -> np.ndarray:
        """64-D penultimate-layer activations, float64: the space FID is measured in."""
        return predict_in_batches(self.feature_model, self._check(images), 500).astype(np.float64)

    def accuracy(self, images, labels) -> float:
        """Share of images whose most probable class is the label."""
        return float(np.mean(self.probabilities(images).argmax(1) == np.asarray(labels)))


@lru_cache(maxsize=1)
def load_classifier() -> ReferenceClassifier:
    """The course's one reference classifier (weights and recorded accuracy, bundled with the package)."""
    weights, report = data.DATA_DIR / CLASSIFIER_WEIGHTS, data.DATA_DIR / CLASSIFIER_REPORT
    if not weights.is_file() or not report.is_file():
        raise missing_data_error(weights.name if not weights.is_file() else report.name, "train_classifier.py")
    model = build_classifier()
    model.load_weights(weights)
    return ReferenceClassifier(model, json.loads(report.read_text())["test_accuracy"])


# ---------------------------------------------------------------- FID, IS, coverage

def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ vectors.T


def frechet_distance(mean_a, cov_a, mean_b, cov_b) -> float:
    r"""‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2}).

    tr((Σ_a Σ_b)^{1/2}) is computed as tr((Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}): the same eigenvalues,
    but a symmetric matrix, so the square root is real by construction (no complex round-off to drop).
    """
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets of equal size (float64)."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"FID needs two (N, D) feature sets of equal N (it is biased in N): {a.shape}, {b.shape}")
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def inception_score(probabilities: np.ndarray) -> float:
    """exp E_x KL(p(y|x) ‖ p(y)): 10 for confident, evenly spread classes; 1 for one class or chance."""
    p = np.clip(np.asarray(probabilities, np.float64), 1e-12, 1)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))


def kl_to_uniform(histogram: np.ndarray) -> float:
    """KL(histogram ‖ uniform) in nats (0 log 0 = 0): 0 for even classes, ln K for a single one."""
    h = np.asarray(histogram, np.float64)
    p = h / h.sum()
    nonzero = p > 0
    return float(np.sum(p[nonzero] * np.log(p[nonzero] * len(p))))


def mode_coverage(probabilities: np.ndarray, min_share: float = 0.01, confidence: float = 0.9) -> dict:
    """Classes holding ≥ ``min_share`` of the samples, KL of the class histogram to uniform, and
    the share of samples whose top class probability exceeds ``confidence``."""
    p = np.asarray(probabilities)
    histogram = np.bincount(p.argmax(axis=1), minlength=p.shape[1])
    return {
        "classes_covered": int(np.sum(histogram >= min_share * len(p))),
        "kl_to_uniform": kl_to_uniform(histogram),
        "confident_share": float(np.mean(p.max(axis=1) > confidence)),
    }


def digit_metrics(images, reference_images, classifier: ReferenceClassifier | None = None) -> dict:
    """FID against ``reference_images`` (same N), IS and coverage of a batch of [0, 1] images."""
    classifier = classifier or load_classifier()
    probabilities = classifier.probabilities(images)
    return {
        "fid": fid(classifier.features(images), classifier.features(reference_images)),
        "inception_score": inception_score(probabilities),
        **mode_coverage(probabilities),
    }


# ---------------------------------------------------------------- conditional generation

def _checked_labels(labels, n: int) -> np.ndarray:
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != n or labels.dtype.kind not in "iu" or (n and (labels.min() < 0 or labels.max() > 9)):
        raise ValueError(f"one integer digit class (0–9) per image is needed: got {len(labels)} labels for {n} images")
    return labels


def class_fidelity(images, labels, classifier: ReferenceClassifier | None = None) -> float:
    """Share of images generated for a requested class that the reference classifier assigns to that
    class: ≈ the classifier's own accuracy for real digits of the class, ≈ 10 % when the label is ignored."""
    classifier = classifier or load_classifier()
    return classifier.accuracy(images, _checked_labels(labels, len(images)))


def confident_share_per_class(images, labels, classifier: ReferenceClassifier | None = None,
                              confidence: float = 0.9) -> np.ndarray:
    """For each requested class k = 0…9: the share of its images the classifier puts in class k with
    probability above ``confidence`` (NaN for a class with no images)."""
    classifier = classifier or load_classifier()
    labels = _checked_labels(labels, len(images))
    p_requested = classifier.probabilities(images)[np.arange(len(labels)), labels]
    return np.array([np.mean(p_requested[labels == k] > confidence) if np.any(labels == k) else np.nan
                     for k in range(10)])


def _mean_pairwise_distance(features: np.ndarray) -> float:
    squared = np.sum(features**2, 1)[:, None] - 2 * features @ features.T + np.sum(features**2, 1)[None]
    n = len(features)
    return float(np.sqrt(np.clip(squared, 0, None)).sum() / (n * (n - 1)))


def intra_class_diversity(images, labels, reference_images, reference_labels,
                          classifier: ReferenceClassifier | None = None) -> np.ndarray:
    """Per class k: the mean pairwise distance between the classifier features of the images generated
    for k, as a share of the same for real digits of class k — about 1 when the samples of a class
    vary as real ones do, 0 when the generator draws one prototype per class."""
    classifier = classifier or load_classifier()
    labels, reference_labels = _checked_labels(labels, len(images)), _checked_labels(reference_labels,
                                                                                       len(reference_images))
    features, reference = classifier.features(images), classifier.features(reference_images)
    ratios = []
    for k in range(10):
        mine, theirs = features[labels == k], reference[reference_labels == k]
        if len(mine) < 2 or len(theirs) < 2:
            raise ValueError(f"intra_class_diversity needs at least 2 images of class {k} in both sets")
        ratios.append(_mean_pairwise_distance(mine) / _mean_pairwise_distance(theirs))
    return np.array(ratios)


def train_then_test(x_train, y_train, x_test, y_test, *, epochs: int = 5, seed: int = 0) -> float:
    """Test accuracy of a fresh classifier (the reference architecture, trained as it was) fitted on
    ``x_train``: with generated digits this is GAN-train (Shmelkov et al. 2018), with real ones its baseline."""
    x_train, x_test = (ReferenceClassifier._check(x) for x in (x_train, x_test))
    y_train, y_test = _checked_labels(y_train, len(x_train)), _checked_labels(y_test, len(x_test))
    model, fresh_state = _classifier_to_train(seed)
    for variable, value in zip(model.variables + model.optimizer.variables, fresh_state):
        variable.assign(value)
    model.fit(data.make_dataset(x_train, y_train, batch_size=64, seed=seed), epochs=epochs, verbose=0)
    logits = predict_in_batches(model, x_test, 500)
    return float(np.mean(logits.argmax(1) == y_test))


@cache
def _classifier_to_train(seed: int) -> tuple[keras.Model, list[np.ndarray]]:
    """One compiled reference classifier per seed and its untrained state (weights, dropout and shift
    random state, optimizer slots). Restoring that state makes it as fresh as a new model, without
    the seconds a new model spends tracing its training step on every call."""
    config.seed_everything(seed)
    model = build_classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.optimizer.build(model.trainable_variables)
    return model, [variable.numpy() for variable in model.variables + model.optimizer.variables]


def blur(images: np.ndarray, passes: int = 2) -> np.ndarray:
    """Blur [0, 1] images with a separable [1, 2, 1]/4 kernel, ``passes`` times (calibration)."""
    x = check_images(images).astype(np.float32).reshape(len(images), 28, 28)
    for _ in range(passes):
        for axis in (1, 2):
            padded = np.pad(x, [(0, 0)] + [(1, 1) if a == axis else (0, 0) for a in (1, 2)], mode="edge")
            lo = np.take(padded, range(0, 28), axis=axis)
            mid = np.take(padded, range(1, 29), axis=axis)
            hi = np.take(padded, range(2, 30), axis=axis)
            x = (lo + 2 * mid + hi) / 4
    return x[..., None]


def laplacian_variance(images: np.ndarray) -> float:
    """Sharpness: the variance of the 4-neighbour Laplacian over each [0, 1] image's interior,
    averaged over images. Blur lowers it; crisp strokes raise it (0 for a flat image)."""
    x = check_images(images).astype(np.float64).reshape(len(images), 28, 28)
    laplacian = x[:, :-2, 1:-1] + x[:, 2:, 1:-1] + x[:, 1:-1, :-2] + x[:, 1:-1, 2:] - 4 * x[:, 1:-1, 1:-1]
    return float(laplacian.reshape(len(images), -1).var(axis=1).mean())


def add_noise(images: np.ndarray, stddev: float, seed: int = 0) -> np.ndarray:
    """[0, 1] images plus Gaussian pixel noise, clipped to [0, 1] (calibration)."""
    x = check_images(images).astype(np.float32)
    noisy = x + stddev * np.random.default_rng(seed).standard_normal(x.shape).astype(np.float32)
    return np.clip(noisy, 0, 1)


def fid_calibration(train_images, test_images, classifier: ReferenceClassifier | None = None) -> dict:
    """FID of real and degraded digits against the test digits, all with N = len(test_images).

    The floor is real training digits vs test digits: no generator can be expected to do better.
    """
    classifier = classifier or load_classifier()
    n = len(test_images)
    reference = classifier.features(test_images)
    candidates = {
        "real train digits (floor)": train_images[:n],
        "test digits, blurred": blur(test_images, passes=1),
        "test digits, blurred ×3": blur(test_images, passes=3),
        "test digits + noise σ=0.1": add_noise(test_images, 0.1),
        "test digits + noise σ=0.3": add_noise(test_images, 0.3),
    }
    return {name: fid(classifier.features(images), reference) for name, images in candidates.items()}


# ---------------------------------------------------------------- 2-D mixtures

RING_STD = 0.01
GRID_STD = 0.05


def ring_centres(n: int = 8, radius: float = 1.0) -> np.ndarray:
    """n centres evenly on a circle (the endpoint 2π is excluded: it would repeat angle 0)."""
    angles = np.linspace(0, 2 * np.pi, n + 1)[:-1]
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid_centres() -> np.ndarray:
    """The 25 centres {−4, −2, 0, 2, 4}²."""
    axis = np.arange(-4.0, 5.0, 2.0)
    return np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)


def sample_mixture(centres: np.ndarray, std: float, n: int, seed: int = 0) -> np.ndarray:
    """n points from an equal-weight mixture of isotropic Gaussians at ``centres``."""
    rng = np.random.default_rng(seed)
    chosen = centres[rng.integers(len(centres), size=n)]
    return (chosen + std * rng.standard_normal((n, 2))).astype(np.float32)


def mixture_metrics(samples: np.ndarray, centres: np.ndarray, std: float) -> dict:
    """VEEGAN/PacGAN protocol: a sample is high quality within 3σ of its nearest centre; a mode
    is captured when it is the nearest centre of at least one high-quality sample."""
    samples = np.asarray(samples, np.float64)
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"expected 2-D points of shape (N, 2), got {samples.shape}")
    distances = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    high_quality = distances.min(axis=1) <= 3 * std
    return {
        "modes_captured": int(len(np.unique(nearest[high_quality]))),
        "high_quality_share": float(high_quality.mean()),
    }


# ---------------------------------------------------------------- likelihood

def iwae_bound(log_weights: Callable[[np.ndarray, int], np.ndarray], x: np.ndarray, k: int,
               batch_size: int = 100) -> np.ndarray:
    r"""Per-example L_k = log (1/k) Σ_i w_i, with log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x).

    ``log_weights(x_batch, k)`` returns the (k, batch) log-weights (e.g. ``VAE.log_importance_weights``).
    L_1 is the ELBO; L_k rises with k towards log p(x) (Burda et al. 2016). Computed with a
    log-sum-exp in float64.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    bounds = []
    for start in range(0, len(x), batch_size):
        w = np.asarray(log_weights(x[start : start + batch_size], k), np.float64)
        peak = w.max(axis=0)
        bounds.append(peak + np.log(np.exp(w - peak).sum(axis=0)) - np.log(k))
    return np.concatenate(bounds)


def active_units(posterior_means: np.ndarray, threshold: float = 0.01) -> int:
    """Latent dimensions whose posterior mean varies across inputs: Var_x E_q[z_u] > threshold
    (Burda et al. 2016). An inactive unit carries no information about x (posterior collapse)."""
    means = np.asarray(posterior_means, np.float64)
    return int(np.sum(means.var(axis=0) > threshold))


# ---------------------------------------------------------------- sequences

MMD_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.clip((a**2).sum(1)[:, None] - 2 * a @ b.T + (b**2).sum(1)[None], 0, None)


def median_bandwidth(x: np.ndarray, y: np.ndarray) -> float:
    """The median heuristic: the median distance between distinct points of the pooled sample."""
    pooled = np.concatenate([x, y]).reshape(len(x) + len(y), -1).astype(np.float64)
    distances = np.sqrt(_squared_distances(pooled, pooled))
    return float(np.median(distances[np.triu_indices(len(pooled), k=1)]))


def mmd_squared(x: np.ndarray, y: np.ndarray, scales=MMD_SCALES, bandwidth: float | None = None) -> float:
    r"""Unbiased MMD² (Gretton et al. 2012) between two sets of whole sequences (or any arrays),
    with the mean of RBF kernels :math:`\exp(-\lVert a-b\rVert^2 / 2(s\,\sigma)^2)` over ``scales`` s
    around the median-heuristic bandwidth σ. 0 in expectation when both sets share a distribution;
    it can be slightly negative. The same bandwidth must be used for numbers that are compared."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    y = np.asarray(y, np.float64).reshape(len(y), -1)
    if x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise ValueError(f"need two sets of at least 2 items of the same size, got {x.shape} and {y.shape}")
    sigma = bandwidth if bandwidth is not None else median_bandwidth(x, y)

    def kernel(a, b):
        d2 = _squared_distances(a, b)
        return np.mean([np.exp(-d2 / (2 * (s * sigma) ** 2)) for s in scales], axis=0)

    m, n = len(x), len(y)
    kxx, kyy, kxy = kernel(x, x), kernel(y, y), kernel(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def sine_fit(sequences: np.ndarray, frequencies: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-sequence frequency and amplitude of the best least-squares fit a·sin + b·cos over a
    grid of frequencies (cycles per sequence; default 0.5…6 in steps of 0.01): (f, A = √(a² + b²))."""
    x = np.asarray(sequences, np.float64).reshape(len(sequences), -1)
    grid = np.arange(0.5, 6.0001, 0.01) if frequencies is None else np.asarray(frequencies, np.float64)
    t = np.arange(x.shape[1])
    best_error = np.full(len(x), np.inf)
    best_f, best_a = np.zeros(len(x)), np.zeros(len(x))
    for f in grid:
        basis = np.stack([np.sin(2 * np.pi * f * t / len(t)), np.cos(2 * np.pi * f * t / len(t))], axis=1)
        coefficients, *_ = np.linalg.lstsq(basis, x.T, rcond=None)
        error = ((basis @ coefficients - x.T) ** 2).sum(axis=0)
        better = error < best_error
        best_error[better], best_f[better] = error[better], f
        best_a[better] = np.hypot(*coefficients[:, better])
    return best_f, best_a


def mmd_calibration(reference: np.ndarray, *, seed: int = 0) -> tuple[float, np.ndarray]:
    """What MMD² against ``reference`` is judged with: the median-heuristic bandwidth of its two
    halves (fixed, so that numbers can be compared) and Gaussian noise of its shape and scale."""
    half = len(reference) // 2
    noise = np.random.default_rng(seed).normal(0.0, reference.std(), reference.shape)
    return median_bandwidth(reference[:half], reference[half:]), noise


FREQUENCY_RANGE, AMPLITUDE_RANGE = (1.0, 5.0), (0.1, 0.9)  # the sine data's ranges (data.sine_waves)
COVERAGE_BINS = 8
# What a generator of sines must reach: every eighth of both ranges populated, fitted values
# distributed like the real ones (1-D Wasserstein distance ≤ 5 % of the range), mostly in range,
# and as a set far closer to real sines than noise (MMD² ≤ ⅓ of noise's).
SINE_TARGETS = {"in_range": (">=", 0.90), "frequency_coverage": (">=", 1.0), "amplitude_coverage": (">=", 1.0),
                "frequency_distance": ("<=", 0.05), "amplitude_distance": ("<=", 0.05), "mmd_ratio": ("<=", 1 / 3)}


def range_coverage(values: np.ndarray, value_range: tuple[float, float], bins: int = COVERAGE_BINS,
                   min_share: float = 0.25) -> float:
    """Share of ``bins`` equal parts of ``value_range`` that hold at least ``min_share`` of the count
    an even spread would put there: 1 when the whole range is used, 0.75 when a quarter is missing."""
    values = np.asarray(values, np.float64)
    counts, _ = np.histogram(values, bins=bins, range=value_range)
    return float(np.mean(counts >= min_share * len(values) / bins))


def _within(values: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Which ``values`` lie in the closed interval ``value_range``."""
    return (values >= value_range[0]) & (values <= value_range[1])


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """Earth-mover (Wasserstein-1) distance between two 1-D samples: the mean gap between their
    quantile functions, evaluated on a common grid of 1,000 levels."""
    levels = (np.arange(1000) + 0.5) / 1000
    return float(np.mean(np.abs(np.quantile(np.asarray(a, np.float64), levels)
                                - np.quantile(np.asarray(b, np.float64), levels))))


def collapsed_sines(reference: SineWaves, frequency: float = 3.0) -> np.ndarray:
    """An MMD² anchor a reader can picture: the reference's amplitudes and phases, but every sine
    at one ``frequency`` — a generator that collapsed in frequency and nothing else."""
    t = np.arange(reference.x.shape[1])
    x = reference.amplitude[:, None] * np.sin(2 * np.pi * frequency * t / len(t) + reference.phase[:, None])
    return x[..., None].astype(np.float32)


_ANCHORS: dict = {}


def _sine_anchors(reference: SineWaves, seed: int) -> dict:
    """What ``sine_metrics`` compares every generated set with, computed once per reference set and
    seed (a lesson measures many sets against one): the fitted real values, the kernel bandwidth and
    the MMD² of the two anchors."""
    key = (reference.x.shape, reference.x.tobytes(), seed)
    if key not in _ANCHORS:
        if len(_ANCHORS) >= 4:
            _ANCHORS.clear()
        _ANCHORS[key] = _compute_sine_anchors(reference, seed)
    return _ANCHORS[key]


def _compute_sine_anchors(reference: SineWaves, seed: int) -> dict:
    real_frequency, real_amplitude = sine_fit(reference.x)
    bandwidth, noise = mmd_calibration(reference.x, seed=seed)
    return {"frequency": real_frequency, "amplitude": real_amplitude, "bandwidth": bandwidth,
            "mmd2_noise": mmd_squared(reference.x, noise, bandwidth=bandwidth),
            "mmd2_collapsed": mmd_squared(reference.x, collapsed_sines(reference), bandwidth=bandwidth)}


def sine_metrics(generated: np.ndarray, reference: SineWaves, *, seed: int = 0) -> dict:
    """How sine-like a set of generated sequences is, against held-out real sines (``reference``):

    ``in_range`` — share whose fitted f and A lie in ``FREQUENCY_RANGE`` and ``AMPLITUDE_RANGE`` (the data's);
    ``frequency_coverage``/``amplitude_coverage`` — :func:`range_coverage` of the fitted values;
    ``frequency_distance``/``amplitude_distance`` — :func:`wasserstein_1d` between the fitted values
    of generated and real sines, as a share of the range's width (0 = the same distribution);
    ``frequency_spread``/``amplitude_spread`` — std of the fitted values over the real std (a spread
    alone is not enough: a set missing a quarter of the frequencies still has 0.75 of it);
    ``mmd2`` with its anchors ``mmd2_noise`` (Gaussian noise of the reference's scale) and
    ``mmd2_collapsed`` (:func:`collapsed_sines`), all with one kernel bandwidth; ``mmd_ratio`` =
    mmd2 / mmd2_noise; ``passes`` — every target of ``SINE_TARGETS`` is met (``failed`` names the others).
    """
    generated = np.asarray(generated, np.float64)
    if generated.ndim != 3 or generated.shape[1:] != reference.x.shape[1:]:
        raise ValueError(f"generated sequences have shape {generated.shape[1:]}, the reference {reference.x.shape[1:]}")
    frequency, amplitude = sine_fit(generated)
    anchors = _sine_anchors(reference, seed)
    width_f, width_a = FREQUENCY_RANGE[1] - FREQUENCY_RANGE[0], AMPLITUDE_RANGE[1] - AMPLITUDE_RANGE[0]
    mmd2 = mmd_squared(reference.x, generated, bandwidth=anchors["bandwidth"])
    mmd2_noise, mmd2_collapsed = anchors["mmd2_noise"], anchors["mmd2_collapsed"]
    real_frequency, real_amplitude = anchors["frequency"], anchors["amplitude"]
    metrics = {
        "in_range": float(np.mean(_within(frequency, FREQUENCY_RANGE) & _within(amplitude, AMPLITUDE_RANGE))),
        "frequency_coverage": range_coverage(frequency, FREQUENCY_RANGE),
        "amplitude_coverage": range_coverage(amplitude, AMPLITUDE_RANGE),
        "frequency_distance": wasserstein_1d(frequency, real_frequency) / width_f,
        "amplitude_distance": wasserstein_1d(amplitude, real_amplitude) / width_a,
        "frequency_spread": float(frequency.std() / reference.frequency.std()),
        "amplitude_spread": float(amplitude.std() / reference.amplitude.std()),
        "mmd2": mmd2,
        "mmd2_noise": mmd2_noise,
        "mmd2_collapsed": mmd2_collapsed,
        "mmd_ratio": mmd2 / mmd2_noise,
    }
    failed = [name for name, (sense, target) in SINE_TARGETS.items()
              if not (metrics[name] >= target if sense == ">=" else metrics[name] <= target)]
    return {**metrics, "passes": not failed, "failed": failed}


def window_metrics(sequences: np.ndarray, reference: SineWaves, *, seed: int = 0) -> list[dict]:
    """Generated sequences k times the data's length, cut into k windows of that length: each window
    measured like :func:`sine_metrics`, plus ``frequency_drift``/``amplitude_drift`` — how far each
    sequence's fitted f and A moved from its first window (mean absolute change, as a share of the
    data's range). Real sines continued in time have flat rows: the same f and A in every window."""
    sequences = np.asarray(sequences, np.float64)
    length, features = reference.x.shape[1:]
    if sequences.ndim != 3 or sequences.shape[2] != features or sequences.shape[1] % length:
        raise ValueError(f"need sequences (N, k·{length}, {features}) to cut into windows of the data's length, "
                         f"got {sequences.shape}")
    windows = np.moveaxis(sequences.reshape(len(sequences), -1, length, features), 1, 0)
    first_frequency, first_amplitude = sine_fit(windows[0])
    rows = []
    for window in windows:
        frequency, amplitude = sine_fit(window)
        rows.append({**sine_metrics(window, reference, seed=seed),
                     "frequency_drift": float(np.mean(np.abs(frequency - first_frequency))
                                              / (FREQUENCY_RANGE[1] - FREQUENCY_RANGE[0])),
                     "amplitude_drift": float(np.mean(np.abs(amplitude - first_amplitude))
                                              / (AMPLITUDE_RANGE[1] - AMPLITUDE_RANGE[0]))})
    return rows


_POST_HOC_DISCRIMINATORS: dict[tuple, tuple[keras.Model, list[np.ndarray]]] = {}


def _post_hoc_discriminator(shape: tuple, units: int, seed: int) -> keras.Model:
    """The discriminative score's GRU classifier, initialized from ``seed`` with a fresh optimizer.
    One compiled model is kept per input shape and width and re-initialized on every call: the weights
    and the optimizer state are those of a new model, without tracing its steps again (seconds each)."""
    key = (tuple(shape), units)
    if key not in _POST_HOC_DISCRIMINATORS:
        inputs = keras.Input(shape)  # seeded initializers: building it leaves the global random state alone
        gru = layers.GRU(units, kernel_initializer=keras.initializers.GlorotUniform(0),
                         recurrent_initializer=keras.initializers.Orthogonal(seed=0), name="gru")
        logit = layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(0), name="logit")
        model = keras.Model(inputs, logit(gru(inputs)), name="post_hoc_discriminator")
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.BinaryCrossentropy(from_logits=True))
        model.optimizer.build(model.trainable_variables)
        _POST_HOC_DISCRIMINATORS[key] = model, [variable.numpy() for variable in model.optimizer.variables]
    model, fresh_optimizer = _POST_HOC_DISCRIMINATORS[key]
    gru, logit = model.get_layer("gru").cell, model.get_layer("logit")
    initial = {gru.kernel.path: keras.initializers.GlorotUniform(seed),
               gru.recurrent_kernel.path: keras.initializers.Orthogonal(seed=seed + 1),
               logit.kernel.path: keras.initializers.GlorotUniform(seed + 2)}
    for variable in model.trainable_variables:
        variable.assign(initial.get(variable.path, keras.initializers.Zeros())(variable.shape, variable.dtype))
    for variable, value in zip(model.optimizer.variables, fresh_optimizer):
        variable.assign(value)
    return model


def discriminative_score(real: np.ndarray, generated: np.ndarray, *, seed: int = 0, units: int = 16,
                         epochs: int = 20, test_share: float = 0.25) -> float:
    """Post-hoc discriminative score (Yoon et al. 2019): train a small GRU to tell real from
    generated sequences, report |accuracy − 0.5| on a held-out split. 0 = indistinguishable.

    Reproducible from ``seed`` alone and free of side effects: the split, the initial weights and the
    order of the examples in every epoch are drawn from ``seed``; the global random state is untouched.
    """
    n = min(len(real), len(generated))
    x = np.concatenate([real[:n], generated[:n]]).astype(np.float32)
    y = np.concatenate([np.ones(n), np.zeros(n)]).astype(np.float32)
    rng = np.random.default_rng(seed)
    order = rng.permutation(2 * n)
    n_test = int(round(test_share * 2 * n))
    test, train = order[:n_test], order[n_test:]
    # Every epoch's order drawn up front: one pass over the concatenation is `epochs` shuffled epochs.
    epoch_orders = np.concatenate([rng.permutation(train) for _ in range(epochs)])
    model = _post_hoc_discriminator(x.shape[1:], units, seed)
    model.fit(x[epoch_orders], y[epoch_orders], epochs=1, batch_size=64, shuffle=False, verbose=0)
    logits = predict_in_batches(model, x[test])[:, 0]
    return float(abs(np.mean((logits > 0) == (y[test] == 1)) - 0.5))


# ---------------------------------------------------------------- TimeGAN's post-hoc scores

def _checked_sequence_sets(real: np.ndarray, generated: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    real = np.asarray(real, dtype=np.float32)
    if isinstance(generated, np.ndarray) and generated.ndim == 3:
        raise ValueError("pass the generated sequences as a list of sets, e.g. [generated]")
    generated = [np.asarray(g, dtype=np.float32) for g in generated]
    if real.ndim != 3 or not generated or any(g.shape != real.shape for g in generated):
        raise ValueError(f"need real and generated sequences (N, steps, features) of one shape and number, got "
                         f"{real.shape} and {[g.shape for g in generated]}")
    if not all(np.all(np.isfinite(a)) for a in (real, *generated)):
        raise ValueError("the sequences contain NaN or infinite values")
    return real, generated


class _BlockMask(keras.constraints.Constraint):
    """Keeps only the weights inside each run's block, so one layer holds independent networks."""

    def __init__(self, mask: np.ndarray):
        self.mask = mask

    def __call__(self, weights):
        return weights * ops.cast(self.mask, weights.dtype)


def _block_diagonal(blocks: list[np.ndarray], gates: int) -> np.ndarray:
    """Place each run's (rows, gates·units) matrix on the diagonal of every gate's column block."""
    rows, columns = blocks[0].shape
    units = columns // gates
    runs = len(blocks)
    merged = np.zeros((runs * rows, gates * runs * units), np.float32)
    for run, block in enumerate(blocks):
        for gate in range(gates):
            merged[run * rows:(run + 1) * rows, (gate * runs + run) * units:(gate * runs + run + 1) * units] = \
                block[:, gate * units:(gate + 1) * units]
    return merged


def _post_hoc_grus(steps: int, features: int, units: int, seeds: list[int], *, every_step: bool,
                   activation: str | None = None) -> keras.Model:
    """One model holding len(seeds) independent post-hoc GRUs (``units`` each, one Dense output each),
    run ``r`` reading input features r·features … (r+1)·features and writing output r. Block masks keep
    the runs apart through training; each run starts from the weights a lone GRU with its seed gets,
    so running several at once changes nothing but the time (the whole model costs about one run's
    time: with two units per GRU the per-step overhead, not arithmetic, is what costs)."""
    runs = len(seeds)
    gru = layers.GRU(runs * units, return_sequences=every_step,
                     kernel_constraint=_BlockMask(_block_diagonal([np.ones((features, 3 * units))] * runs, 3)),
                     recurrent_constraint=_BlockMask(_block_diagonal([np.ones((units, 3 * units))] * runs, 3)))
    head = layers.Dense(runs, activation=activation,
                        kernel_constraint=_BlockMask(_block_diagonal([np.ones((units, 1))] * runs, 1)))
    inputs = keras.Input((steps, runs * features))
    model = keras.Model(inputs, head(gru(inputs)), name="post_hoc_grus")
    def initial(initializer, shape):
        return ops.convert_to_numpy(initializer(shape))

    gru.set_weights([
        _block_diagonal([initial(keras.initializers.GlorotUniform(s), (features, 3 * units)) for s in seeds], 3),
        _block_diagonal([initial(keras.initializers.Orthogonal(seed=s + 1), (units, 3 * units)) for s in seeds], 3),
        np.zeros(gru.get_weights()[2].shape, np.float32)])
    head.set_weights([_block_diagonal([initial(keras.initializers.GlorotUniform(s + 2), (units, 1)) for s in seeds], 1),
                      np.zeros(runs, np.float32)])
    return model


def _fit_runs(model: keras.Model, pool: np.ndarray, rows: np.ndarray, targets, loss) -> None:
    """Adam (TensorFlow's defaults, as TimeGAN), one step per entry of ``rows`` (steps, batch, runs): run
    r's batch is pool[rows[step, :, r]], placed in its own block of input features; ``targets`` gives the
    step's targets from the same (batch, runs) rows."""
    pool = tf.constant(pool)

    @tf.autograph.experimental.do_not_convert  # plain tensor code: converting it only warns about the lambdas
    def batch(step_rows):
        return _side_by_side(tf.gather(pool, step_rows)), targets(step_rows)

    dataset = tf.data.Dataset.from_tensor_slices(rows.astype(np.int32)).map(batch)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-8), loss=loss, steps_per_execution=50)
    model.fit(dataset, epochs=1, verbose=0)


def _side_by_side(sequences):
    """(batch, runs, steps, features) → (batch, steps, runs·features): each run's sequence in its block."""
    shape = ops.shape(sequences)
    return ops.reshape(ops.transpose(sequences, (0, 2, 1, 3)), (shape[0], shape[2], shape[1] * shape[3]))


def _summed_over_runs(per_run_loss):
    """A Keras loss that adds the runs' mean losses (the last axis holds one value per run), so each run's
    gradient is exactly what it would be alone."""
    def loss(target, prediction):
        return ops.sum(per_run_loss(target, prediction), axis=-1)
    return loss


def timegan_discriminative_scores(real: np.ndarray, generated: list[np.ndarray], *, repeats: int = 10, seed: int = 0,
                                  iterations: int = 2000, batch_size: int = 128) -> np.ndarray:
    """TimeGAN's discriminative score, ``repeats`` times for each generated set: shape (sets, repeats).

    Each repeat: a post-hoc GRU (⌊features/2⌋ units, last state → logit) trained on 80 % of each set
    for ``iterations`` steps of ``batch_size`` real + ``batch_size`` generated sequences; |accuracy − 0.5|
    on the other 20 %. 0 = indistinguishable, 0.5 = always told apart. Every repeat has its own split,
    initial weights and batches (TimeGAN reports the mean ± std over 10); all train at once.
    """
    real, generated = _checked_sequence_sets(real, generated)
    if int(0.8 * len(real)) < batch_size:
        needed = int(np.ceil(batch_size / 0.8))
        raise ValueError(f"batches of {batch_size} per kind need at least {needed} sequences per set (80 % train "
                         f"on), got {len(real)}: pass more sequences or a smaller batch_size")
    runs = [(index, rng) for index in range(len(generated))
            for rng in (np.random.default_rng([seed, index, repeat]) for repeat in range(repeats))]
    pool = np.concatenate([real, *generated])
    offsets = len(real) * np.arange(1, len(generated) + 1)  # where each generated set starts in the pool
    train_rows, test_rows = [], []
    for index, rng in runs:
        real_train, real_test = np.split(rng.permutation(len(real)), [int(0.8 * len(real))])
        fake_train, fake_test = np.split(offsets[index] + rng.permutation(len(real)), [int(0.8 * len(real))])
        # Each step: batch_size of each kind, drawn without replacement within the step (TimeGAN's batch_generator).
        train_rows.append([np.concatenate([rng.choice(real_train, batch_size, replace=False),
                                           rng.choice(fake_train, batch_size, replace=False)])
                           for _ in range(iterations)])
        test_rows.append(np.concatenate([real_test, fake_test]))
    train_rows = np.stack(train_rows, axis=-1)                      # (iterations, 2·batch, runs)
    test_rows = np.stack(test_rows, axis=-1)                        # (test, runs)
    labels = np.repeat(np.array([1.0, 0.0], np.float32), batch_size)[:, None] * np.ones(len(runs), np.float32)
    model = _post_hoc_grus(real.shape[1], real.shape[2], max(1, real.shape[2] // 2),
                           [seed + 3 * run for run in range(len(runs))], every_step=False)
    _fit_runs(model, pool, train_rows, lambda _: labels,
              _summed_over_runs(lambda y, logits: keras.losses.binary_crossentropy(y[..., None], logits[..., None],
                                                                                     from_logits=True)))
    logits = predict_in_batches(model, ops.convert_to_numpy(_side_by_side(pool[test_rows])), 1024)
    is_real = test_rows < len(real)
    accuracy = np.mean((logits > 0) == is_real, axis=0)
    return np.abs(accuracy - 0.5).reshape(len(generated), repeats)


def timegan_predictive_scores(real: np.ndarray, generated: list[np.ndarray], *, repeats: int = 10, seed: int = 0,
                              iterations: int = 5000, batch_size: int = 128) -> np.ndarray:
    """TimeGAN's predictive score ("train on synthetic, test on real"), ``repeats`` times for each
    generated set: shape (sets, repeats). A post-hoc GRU (⌊features/2⌋ units, sigmoid output) reads
    every feature but the last for steps 1…T−1 and predicts the last feature one step ahead; trained
    on generated sequences with an L1 loss, it reports its mean absolute error on the real ones.
    Lower is better; the same GRU trained on real data is the floor.
    """
    real, generated = _checked_sequence_sets(real, generated)
    if len(real) < batch_size:
        raise ValueError(f"batches of {batch_size} need at least {batch_size} sequences per set, got {len(real)}: "
                         "pass more sequences or a smaller batch_size")
    runs = [(index, np.random.default_rng([seed, index, repeat])) for index in range(len(generated))
            for repeat in range(repeats)]
    pool = np.concatenate(generated)
    rows = np.stack([np.stack([index * len(real) + rng.choice(len(real), batch_size, replace=False)
                               for _ in range(iterations)]) for index, rng in runs], axis=-1)
    inputs, targets = pool[:, :-1, :-1], pool[:, 1:, -1]           # every feature but the last; the last, one step on
    model = _post_hoc_grus(real.shape[1] - 1, real.shape[2] - 1, max(1, real.shape[2] // 2),
                           [seed + 3 * run for run in range(len(runs))], every_step=True, activation="sigmoid")
    target_pool = tf.constant(targets)
    _fit_runs(model, inputs, rows, lambda step_rows: ops.transpose(tf.gather(target_pool, step_rows), (0, 2, 1)),
              _summed_over_runs(lambda y, p: ops.mean(ops.abs(y - p), axis=-2)))
    on_real = np.repeat(real[:, None, :-1, :-1], len(runs), axis=1)  # every run reads the same real sequences
    predictions = predict_in_batches(model, ops.convert_to_numpy(_side_by_side(on_real)), 1024)
    errors = np.mean(np.abs(predictions - real[:, 1:, -1:]), axis=(0, 1))
    return errors.reshape(len(generated), repeats)


def timegan_discriminative_score(real: np.ndarray, generated: np.ndarray, *, seed: int = 0,
                                 iterations: int = 2000, batch_size: int = 128) -> float:
    """One repeat of :func:`timegan_discriminative_scores`."""
    return float(timegan_discriminative_scores(real, [generated], repeats=1, seed=seed, iterations=iterations,
                                               batch_size=batch_size)[0, 0])


def timegan_predictive_score(real: np.ndarray, generated: np.ndarray, *, seed: int = 0,
                             iterations: int = 5000, batch_size: int = 128) -> float:
    """One repeat of :func:`timegan_predictive_scores`."""
    return float(timegan_predictive_scores(real, [generated], repeats=1, seed=seed, iterations=iterations,
                                           batch_size=batch_size)[0, 0])
