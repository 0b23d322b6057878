"""The VAE-GAN: which loss reaches which network, trackers, serialization, bad input."""

import numpy as np
import pytest

from gan_lessons import config, data, networks
from gan_lessons.config import keras
from gan_lessons.models import VAEGAN

NETWORKS = ("encoder", "decoder", "discriminator")


@pytest.fixture(scope="module")
def digits():
    return data.scale_pixels(data.load_digits("bundled", n_train=32, verbose=False).x_train, "signed")


def tiny_vae_gan(rates=(1e-2, 1e-2, 1e-2), **options):
    """Three tiny networks built from seed 0, so two calls give identical starting weights."""
    config.seed_everything(0)
    model = VAEGAN(networks.conv_gaussian_encoder(2, filters=(4,), hidden=8), networks.dcgan_generator(2, width=8),
                   networks.dcgan_discriminator(width=4, dropout=0.0), seed=0, **options)
    model.compile(**{f"{name}_optimizer": keras.optimizers.SGD(rate) for name, rate in zip(NETWORKS, rates)})
    return model


def trainable(network):
    return [v.numpy().copy() for v in network.trainable_weights]


def one_step(model, digits):
    model.fit(digits, epochs=1, batch_size=len(digits), verbose=0)
    return {name: trainable(getattr(model, name)) for name in NETWORKS}


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("moving", NETWORKS)
def test_each_optimizer_moves_only_its_own_network(digits, moving):
    model = tiny_vae_gan(rates=[0.1 if name == moving else 0.0 for name in NETWORKS])
    before = {name: trainable(getattr(model, name)) for name in NETWORKS}
    after = one_step(model, digits)
    for name in NETWORKS:
        assert same(before[name], after[name]) == (name != moving), name


def test_the_discriminator_is_not_moved_by_the_reconstruction_loss(digits):
    """Changing γ or the feature layer changes the reconstruction term but not the GAN loss:
    D's step must not notice; the decoder's must."""
    reference = one_step(tiny_vae_gan(gamma=1.0), digits)
    for options in ({"gamma": 30.0}, {"feature_layer": "features_1"}):
        other = one_step(tiny_vae_gan(**options), digits)
        assert same(reference["discriminator"], other["discriminator"]), options
        assert not same(reference["decoder"], other["decoder"]), options


def test_the_encoder_is_not_moved_by_the_gan_loss(digits):
    """Scaling D's last (logit) layer changes every adversarial term but neither the features
    at layer l nor the KL: the encoder's step must be unchanged, the decoder's must not."""
    reference = tiny_vae_gan()
    louder = tiny_vae_gan()
    logit = louder.discriminator.get_layer("logit")
    logit.kernel.assign(logit.kernel * 10.0)
    a, b = one_step(reference, digits), one_step(louder, digits)
    assert same(a["encoder"], b["encoder"])
    assert not same(a["decoder"], b["decoder"])


def test_trackers_add_up(digits):
    model = tiny_vae_gan(gamma=2.5)
    logs = model.evaluate(digits, verbose=0, return_dict=True, batch_size=len(digits))
    assert logs["encoder_loss"] == pytest.approx(logs["kl"] + logs["feature_reconstruction"], rel=1e-5)
    assert logs["decoder_loss"] == pytest.approx(2.5 * logs["feature_reconstruction"] + logs["decoder_adversarial"],
                                                 rel=1e-5)
    assert logs["feature_reconstruction"] > 0 and logs["kl"] >= 0
    # An untrained D is undecided: three cross-entropies near ln 2 each.
    assert logs["d_loss"] == pytest.approx(3 * np.log(2), rel=0.1)


def test_steps_draw_fresh_noise_and_training_changes_samples(digits):
    model = tiny_vae_gan()
    first = model.compute_losses(digits[:8], training=True)["decoder_adversarial"]
    second = model.compute_losses(digits[:8], training=True)["decoder_adversarial"]
    assert float(first) != float(second)
    before = model.sample(4, seed=1)
    model.fit(digits, epochs=2, batch_size=16, verbose=0)
    assert not np.array_equal(before, model.sample(4, seed=1))
    np.testing.assert_array_equal(model.sample(4, seed=1), model.sample(4, seed=1))


def test_round_trip_keeps_weights_options_and_all_three_optimizers(digits, tmp_path):
    model = tiny_vae_gan(gamma=0.5, real_label=0.9, feature_layer="features_1")
    model.fit(digits, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "vae_gan.keras")
    restored = keras.saving.load_model(tmp_path / "vae_gan.keras")
    assert (restored.gamma, restored.real_label, restored.feature_layer) == (0.5, 0.9, "features_1")
    np.testing.assert_array_equal(restored.reconstruct(digits[:4]), model.reconstruct(digits[:4]))
    np.testing.assert_array_equal(restored.sample(4, seed=2), model.sample(4, seed=2))
    for name in ("encoder_optimizer", "decoder_optimizer", "discriminator_optimizer"):
        for a, b in zip(getattr(model, name).variables, getattr(restored, name).variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_bad_input_and_options_get_clear_errors(digits):
    with pytest.raises(Exception, match=r"\[-1, 1\]"):
        tiny_vae_gan().fit(digits * 255, epochs=1, verbose=0)
    with pytest.raises(Exception, match=r"\[-1, 1\]"):
        tiny_vae_gan().evaluate(digits * 255, verbose=0)
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        tiny_vae_gan(feature_layer="conv9")
    with pytest.raises(ValueError, match="gamma"):
        tiny_vae_gan(gamma=-1.0)
    untrained = VAEGAN(networks.conv_gaussian_encoder(2, filters=(4,), hidden=8), networks.dcgan_generator(2, width=8),
                       networks.dcgan_discriminator(width=4))
    with pytest.raises(Exception, match="compile"):
        untrained.fit(digits, epochs=1, verbose=0)


def test_the_networks_fit_together():
    encoder = networks.conv_gaussian_encoder(3, filters=(4, 8), hidden=8)
    generator = networks.dcgan_generator(3, width=8, extra_convolutions=1)
    discriminator = networks.dcgan_discriminator(width=4)
    images = np.zeros((2, 28, 28, 1), dtype="float32")
    z_mean, z_log_var = encoder(images)
    assert z_mean.shape == z_log_var.shape == (2, 3)
    decoded = keras.ops.convert_to_numpy(generator(z_mean))
    assert decoded.shape == (2, 28, 28, 1) and np.abs(decoded).max() <= 1.0
    assert len(generator.layers) == len(networks.dcgan_generator(3, width=8).layers) + 3
    assert discriminator.get_layer("features_1").output.shape[1:] == (14, 14, 4)
    assert discriminator.get_layer("features_2").output.shape[1:] == (7, 7, 8)


def test_compile_makes_each_networks_slots_so_the_first_fit_traces_once(digits, count_traces):
    model = tiny_vae_gan()
    assert all(getattr(model, f"{name}_optimizer").built for name in NETWORKS)
    traces = count_traces(model)
    model.fit(digits, epochs=2, batch_size=16, verbose=0)
    assert len(traces) == 1
