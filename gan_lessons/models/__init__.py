"""One ``keras.Model`` subclass per model family, each with its own ``train_step``."""

from gan_lessons.models.adversarial_recurrent_vae import AdversarialRecurrentVAE
from gan_lessons.models.autoencoder import Autoencoder
from gan_lessons.models.completion import Completion
from gan_lessons.models.conditional_gan import ConditionalGAN
from gan_lessons.models.gan import GAN
from gan_lessons.models.lstm_gan import LSTMGAN
from gan_lessons.models.recurrent_vae import RecurrentVAE
from gan_lessons.models.vae import VAE
from gan_lessons.models.vae_gan import VAEGAN
from gan_lessons.models.wgan import WGAN

__all__ = ["AdversarialRecurrentVAE", "GAN", "Completion", "ConditionalGAN", "LSTMGAN", "VAE", "VAEGAN", "Autoencoder",
           "RecurrentVAE", "WGAN"]
