"""One ``keras.Model`` subclass per model family, each with its own ``train_step``."""

from gan_lessons.models.autoencoder import Autoencoder
from gan_lessons.models.gan import GAN
from gan_lessons.models.vae import VAE

__all__ = ["Autoencoder", "GAN", "VAE"]
