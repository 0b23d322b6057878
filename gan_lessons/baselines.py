"""Classical baselines the neural models are measured against."""

from __future__ import annotations

import numpy as np


class PCA:
    """Principal component analysis by SVD of the centred data: the best linear code of size k.

    ``encode`` projects onto the top-k right singular vectors; ``decode`` maps back and adds the
    mean. Among all rank-k linear reconstructions it has the smallest squared error.
    """

    def __init__(self, n_components: int):
        if n_components < 1:
            raise ValueError(f"n_components must be >= 1, got {n_components}")
        self.n_components = n_components
        self.mean: np.ndarray | None = None
        self.components: np.ndarray | None = None
        self.explained_variance: np.ndarray | None = None

    def fit(self, images: np.ndarray) -> PCA:
        """Learn the mean and the top principal directions of flattened ``images``."""
        x = self._flat(images).astype(np.float64)
        if self.n_components > min(x.shape):
            raise ValueError(f"cannot keep {self.n_components} components of data shaped {x.shape}")
        self.shape = np.asarray(images).shape[1:]
        self.mean = x.mean(axis=0)
        _, singular_values, vt = np.linalg.svd(x - self.mean, full_matrices=False)
        self.components = vt[: self.n_components]
        self.explained_variance = singular_values**2 / (len(x) - 1)
        return self

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Coordinates of each image along the principal directions, shape (N, k)."""
        self._check_fitted()
        return (self._flat(images) - self.mean) @ self.components.T

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Images rebuilt from codes, in the shape the model was fitted on."""
        self._check_fitted()
        x = np.asarray(codes) @ self.components + self.mean
        return x.reshape(len(x), *self.shape).astype(np.float32)

    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        """Project onto the principal subspace and map back."""
        return self.decode(self.encode(images))

    @staticmethod
    def _flat(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        return images.reshape(len(images), -1)

    def _check_fitted(self) -> None:
        if self.components is None:
            raise RuntimeError("call PCA.fit(images) before encode/decode")
