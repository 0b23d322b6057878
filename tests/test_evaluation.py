import numpy as np
import pytest

from gan_lessons import data, evaluation


@pytest.fixture(scope="module")
def digits():
    d = data.load_digits("bundled", verbose=False)
    return data.scale_pixels(d.x_train), d.y_train, data.scale_pixels(d.x_test), d.y_test


def test_fid_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 6))
    assert evaluation.fid(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_closed_forms():
    # commuting (diagonal) covariances: FID = |Δμ|² + Σ (σ_a − σ_b)²
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    sd_a, sd_b = np.array([1.0, 2.0, 0.5]), np.array([2.0, 1.0, 0.5])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((sd_a - sd_b) ** 2)
    assert evaluation.frechet_distance(mean_a, np.diag(sd_a**2), mean_b, np.diag(sd_b**2)) == pytest.approx(expected)
    # general covariances: tr((Σ_a Σ_b)^½) = Σ √λ_i over the eigenvalues of the product
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    cov_a, cov_b = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
    trace_sqrt = np.sum(np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real))
    expected = np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
    assert evaluation.frechet_distance(np.zeros(4), cov_a, np.zeros(4), cov_b) == pytest.approx(expected, rel=1e-8)


def test_fid_of_samples_approaches_the_gaussian_distance():
    rng = np.random.default_rng(2)
    a = rng.normal(0.0, 1.0, size=(20000, 2))
    b = rng.normal([1.0, 0.0], [1.0, 2.0], size=(20000, 2))
    assert evaluation.fid(a, b) == pytest.approx(1.0 + 1.0, abs=0.1)
    with pytest.raises(ValueError, match="equal N"):
        evaluation.fid(a, b[:100])


def test_inception_score_and_coverage_extremes():
    confident_even = np.eye(10)[np.arange(1000) % 10]
    assert evaluation.inception_score(confident_even) == pytest.approx(10, rel=1e-6)
    assert evaluation.inception_score(np.full((100, 10), 0.1)) == pytest.approx(1)
    assert evaluation.kl_to_uniform(np.full(10, 7)) == pytest.approx(0)
    assert evaluation.kl_to_uniform(np.eye(10)[3]) == pytest.approx(np.log(10))
    one_class = evaluation.mode_coverage(np.eye(10)[np.zeros(50, int)])
    assert one_class == {"classes_covered": 1, "kl_to_uniform": pytest.approx(np.log(10)), "confident_share": 1.0}


def test_reference_classifier_is_accurate_and_checks_its_input(digits):
    classifier = evaluation.load_classifier()
    _, _, x_test, y_test = digits
    accuracy = classifier.accuracy(x_test, y_test)
    assert accuracy >= 0.97 and accuracy == pytest.approx(classifier.test_accuracy, abs=0.002)
    assert classifier.features(x_test[:5]).shape == (5, 64)
    with pytest.raises(ValueError, match="unscale_pixels"):
        classifier.probabilities(2 * x_test[:5] - 1)


def test_real_digits_score_like_real_digits(digits):
    x_train, _, x_test, _ = digits
    metrics = evaluation.digit_metrics(x_train[:1000], x_test)
    assert metrics["classes_covered"] == 10 and metrics["kl_to_uniform"] < 0.01
    assert metrics["inception_score"] > 9 and metrics["confident_share"] > 0.9
    calibration = evaluation.fid_calibration(x_train, x_test)
    floor = calibration["real train digits (floor)"]
    assert floor == pytest.approx(metrics["fid"])
    assert calibration["test digits, blurred ×3"] > calibration["test digits, blurred"] > floor
    assert calibration["test digits + noise σ=0.3"] > calibration["test digits + noise σ=0.1"] > floor


def test_ring_and_grid_centres():
    ring = evaluation.ring_centres()
    assert len(np.unique(np.round(ring, 6), axis=0)) == 8
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 1.0)
    assert evaluation.grid_centres().shape == (25, 2)


def test_mixture_metrics_on_real_and_collapsed_samples():
    centres = evaluation.ring_centres()
    real = evaluation.sample_mixture(centres, evaluation.RING_STD, 2500, seed=0)
    assert evaluation.mixture_metrics(real, centres, evaluation.RING_STD)["modes_captured"] == 8
    assert evaluation.mixture_metrics(real, centres, evaluation.RING_STD)["high_quality_share"] > 0.98
    collapsed = np.tile(centres[:2], (50, 1)) + 0.5  # all far from every centre
    assert evaluation.mixture_metrics(collapsed, centres, evaluation.RING_STD) == {
        "modes_captured": 0, "high_quality_share": 0.0}
    two_modes = np.tile(centres[:2], (50, 1))
    assert evaluation.mixture_metrics(two_modes, centres, evaluation.RING_STD)["modes_captured"] == 2


def linear_gaussian_log_weights(a=2.0, b=0.5, noise=0.5, proposal_shift=0.3, proposal_scale=1.5, seed=0):
    """z ~ N(0, 1), x | z ~ N(a z + b, noise²): log p(x) is N(b, a² + noise²). The proposal q is the
    exact posterior, shifted and widened, so the bound is strict but converges."""
    rng = np.random.default_rng(seed)
    post_var = 1 / (1 + a**2 / noise**2)

    def log_normal(v, m, var):
        return -0.5 * (np.log(2 * np.pi * var) + (v - m) ** 2 / var)

    def log_weights(x, k):
        post_mean = post_var * a * (x - b) / noise**2 + proposal_shift
        q_var = proposal_scale**2 * post_var
        z = post_mean + np.sqrt(q_var) * rng.standard_normal((k, len(x)))
        return log_normal(x, a * z + b, noise**2) + log_normal(z, 0, 1) - log_normal(z, post_mean, q_var)

    def log_px(x):
        return log_normal(x, b, a**2 + noise**2)

    return log_weights, log_px


def test_iwae_bound_rises_with_k_towards_the_true_likelihood():
    log_weights, log_px = linear_gaussian_log_weights()
    x = np.random.default_rng(5).normal(0.5, 2.0, size=400)
    truth = log_px(x).mean()
    bounds = [evaluation.iwae_bound(log_weights, x, k).mean() for k in (1, 5, 50, 500)]
    assert bounds == sorted(bounds) and bounds[-1] <= truth + 1e-3
    assert truth - bounds[0] > 0.05 and truth - bounds[-1] < 0.01


def test_iwae_bound_is_exact_with_the_true_posterior():
    log_weights, log_px = linear_gaussian_log_weights(proposal_shift=0.0, proposal_scale=1.0)
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(evaluation.iwae_bound(log_weights, x, k=3), log_px(x), rtol=1e-10)


def test_active_units_counts_dimensions_that_vary():
    rng = np.random.default_rng(0)
    means = np.column_stack([rng.normal(size=500), np.full(500, 0.3), 0.01 * rng.normal(size=500)])
    assert evaluation.active_units(means) == 1


def test_laplacian_variance_by_hand_and_under_blur(digits):
    flat = np.full((2, 28, 28, 1), 0.5, dtype=np.float32)
    assert evaluation.laplacian_variance(flat) == 0.0
    dot = np.zeros((1, 28, 28, 1), dtype=np.float32)
    dot[0, 10, 10] = 1.0
    # Interior 26×26 = 676 values: one −4 at the dot, four +1 around it, the rest 0.
    values = np.zeros(676)
    values[:5] = [-4, 1, 1, 1, 1]
    assert evaluation.laplacian_variance(dot) == pytest.approx(values.var())
    real = digits[0][:200]
    assert evaluation.laplacian_variance(evaluation.blur(real)) < 0.5 * evaluation.laplacian_variance(real)
