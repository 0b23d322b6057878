import numpy as np
import pytest

from gan_lessons.baselines import PCA


def test_pca_error_equals_the_discarded_variance():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 6)) @ np.diag([5, 4, 3, 0.5, 0.2, 0.1]) + 7.0
    pca = PCA(3).fit(x)
    squared_error = np.sum((pca.reconstruct(x) - x) ** 2) / (len(x) - 1)
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False)))[::-1]
    assert squared_error == pytest.approx(eigenvalues[3:].sum(), rel=1e-6)
    np.testing.assert_allclose(pca.explained_variance, eigenvalues, rtol=1e-6)


def test_pca_keeps_image_shape_and_rejects_misuse():
    images = np.random.default_rng(1).random((20, 28, 28, 1))
    pca = PCA(5).fit(images)
    assert pca.encode(images).shape == (20, 5)
    assert pca.reconstruct(images).shape == (20, 28, 28, 1)
    with pytest.raises(RuntimeError, match="fit"):
        PCA(2).encode(images)
    with pytest.raises(ValueError, match="cannot keep"):
        PCA(50).fit(images)
