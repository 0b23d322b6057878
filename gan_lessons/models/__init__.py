"""One ``keras.Model`` subclass per model family, each with its own ``train_step``."""

from gan_lessons.models.autoencoder import Autoencoder

__all__ = ["Autoencoder"]
