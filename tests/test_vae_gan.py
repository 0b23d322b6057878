"""The VAE-GAN and its recurrent form (GAN + R-VAE): which loss reaches which network, trackers,
serialization, bad input. The routing tests run on both: images and sequences."""

import numpy as np
import pytest

from gan_lessons import config, data, networks
from gan_lessons.config import keras
from gan_lessons.models import VAEGAN, AdversarialRecurrentVAE

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


def tiny_sequence_vae_gan(rates=(1e-2, 1e-2, 1e-2), feedback="none", **options):
    """The same three roles with recurrent networks, on sequences of 30 steps × 1 feature."""
    config.seed_everything(0)
    model = AdversarialRecurrentVAE(
        networks.lstm_gaussian_encoder(2, 30, 1, units=8),
        networks.RecurrentDecoder(2, 30, 1, units=8, condition="input", feedback=feedback),
        networks.lstm_discriminator(30, 1, 8), seed=0, **options)
    model.compile(**{f"{name}_optimizer": keras.optimizers.SGD(rate) for name, rate in zip(NETWORKS, rates)})
    return model


@pytest.fixture(params=["images", "sequences"])
def kind(request, digits):
    """(model builder, a batch it trains on, options that change only the reconstruction term)."""
    if request.param == "images":
        return tiny_vae_gan, digits, ({"gamma": 30.0}, {"feature_layer": "features_1"})
    return (tiny_sequence_vae_gan, data.sine_waves(32, seed=0).x,
            ({"gamma": 30.0}, {"observation_std": 0.5}, {"reconstruction": "features"}))


def trainable(network):
    return [v.numpy().copy() for v in network.trainable_weights]


def one_step(model, digits):
    model.fit(digits, epochs=1, batch_size=len(digits), verbose=0)
    return {name: trainable(getattr(model, name)) for name in NETWORKS}


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("moving", NETWORKS)
def test_each_optimizer_moves_only_its_own_network(kind, moving):
    build, batch, _ = kind
    model = build(rates=[0.1 if name == moving else 0.0 for name in NETWORKS])
    before = {name: trainable(getattr(model, name)) for name in NETWORKS}
    after = one_step(model, batch)
    for name in NETWORKS:
        assert same(before[name], after[name]) == (name != moving), name


def test_the_discriminator_is_not_moved_by_the_reconstruction_loss(kind):
    """Changing γ, the feature layer, σ or the kind of reconstruction changes the reconstruction
    term but not the GAN loss: D's step must not notice; the decoder's must."""
    build, batch, reconstruction_changes = kind
    reference = one_step(build(gamma=1.0), batch)
    for options in reconstruction_changes:
        other = one_step(build(**options), batch)
        assert same(reference["discriminator"], other["discriminator"]), options
        assert not same(reference["decoder"], other["decoder"]), options


def test_the_encoder_is_not_moved_by_the_gan_loss(kind):
    """Scaling D's last (logit) layer changes every adversarial term but neither the features
    at layer l nor the KL: the encoder's step must be unchanged, the decoder's must not."""
    build, batch, _ = kind
    reference = build()
    louder = build()
    logit = louder.discriminator.get_layer("logit")
    logit.kernel.assign(logit.kernel * 10.0)
    a, b = one_step(reference, batch), one_step(louder, batch)
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


def test_steps_draw_fresh_noise_and_training_changes_samples(kind):
    build, batch, _ = kind
    model = build()
    first = model.compute_losses(batch[:8], training=True)["decoder_adversarial"]
    second = model.compute_losses(batch[:8], training=True)["decoder_adversarial"]
    assert float(first) != float(second)
    before = model.sample(4, seed=1)
    model.fit(batch, epochs=2, batch_size=16, verbose=0)
    assert not np.array_equal(before, model.sample(4, seed=1))
    np.testing.assert_array_equal(model.sample(4, seed=1), model.sample(4, seed=1))


def test_round_trip_keeps_weights_options_and_all_three_optimizers(kind, tmp_path):
    build, batch, _ = kind
    model = build(gamma=0.5, real_label=0.9, observation_std=0.3)
    model.fit(batch, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "vae_gan.keras")
    restored = keras.saving.load_model(tmp_path / "vae_gan.keras")
    assert type(restored) is type(model)
    assert (restored.gamma, restored.real_label, restored.observation_std) == (0.5, 0.9, 0.3)
    assert (restored.feature_layer, restored.reconstruction) == (model.feature_layer, model.reconstruction)
    np.testing.assert_array_equal(restored.reconstruct(batch[:4]), model.reconstruct(batch[:4]))
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


def test_the_likelihood_term_is_the_gaussian_negative_log_likelihood_in_nats():
    model = tiny_sequence_vae_gan(reconstruction="likelihood", observation_std=0.2)
    x = data.sine_waves(4, seed=1).x
    reconstruction = data.sine_waves(4, seed=2).x
    by_hand = np.mean(np.sum((x - reconstruction) ** 2 / (2 * 0.2**2) + np.log(0.2) + 0.5 * np.log(2 * np.pi),
                             axis=(1, 2)))
    terms = model.reconstruction_terms(x, reconstruction)
    assert set(terms) == {"reconstruction_nll"}
    assert float(terms["reconstruction_nll"]) == pytest.approx(by_hand, rel=1e-5)
    logs = model.evaluate(x, verbose=0, return_dict=True, batch_size=4)
    assert "feature_reconstruction" not in logs
    assert logs["encoder_loss"] == pytest.approx(logs["kl"] + logs["reconstruction_nll"], rel=1e-5)


def test_the_sequence_decoder_runs_free_and_differentiably():
    """Writing from z alone is the decoder's call on silent inputs; with identity feedback its own
    values come back as inputs (generate), and the adversarial gradient reaches the decoder."""
    z = np.random.default_rng(0).standard_normal((3, 2)).astype("float32")
    silent = tiny_sequence_vae_gan()
    np.testing.assert_allclose(silent.decode(z), silent.decoder([z, np.zeros((3, 30, 1), "float32")]), atol=1e-6)
    fed_back = tiny_sequence_vae_gan(feedback="identity", rates=(0.0, 0.1, 0.0))
    np.testing.assert_allclose(fed_back.decode(z), fed_back.decoder.generate(z), atol=1e-6)
    before = trainable(fed_back.decoder)
    after = one_step(fed_back, data.sine_waves(16, seed=0).x)["decoder"]
    assert not same(before, after)


def test_sequence_vae_gan_refuses_what_it_cannot_train():
    encoder, discriminator = networks.lstm_gaussian_encoder(2, 30, 1, units=4), networks.lstm_discriminator(30, 1, 4)
    with pytest.raises(ValueError, match="feedback"):
        AdversarialRecurrentVAE(encoder, networks.RecurrentDecoder(2, 30, 1, units=4, feedback="sample"), discriminator)
    with pytest.raises(ValueError, match=r"reads sequences of shape \(20, 1\)"):
        silent = networks.RecurrentDecoder(2, 30, 1, units=4, condition="input", feedback="none")
        AdversarialRecurrentVAE(encoder, silent, networks.lstm_discriminator(20, 1, 4))
    with pytest.raises(ValueError, match="reconstruction must be one of"):
        tiny_sequence_vae_gan(reconstruction="pixels")
    with pytest.raises(ValueError, match=r"shape \(batch, 30, 1\)"):
        tiny_sequence_vae_gan().fit(np.zeros((8, 20, 1), "float32"), epochs=1, verbose=0)


def test_sequences_longer_than_the_training_length_continue_the_same_run():
    """A causal decoder asked for more steps writes the same first 30 and then keeps going."""
    z = np.random.default_rng(1).standard_normal((3, 2)).astype("float32")
    for feedback in ("none", "identity"):
        model = tiny_sequence_vae_gan(feedback=feedback)
        longer = model.decode(z, steps=90)
        assert longer.shape == (3, 90, 1) and np.all(np.isfinite(longer))
        np.testing.assert_allclose(longer[:, :30], model.decode(z), atol=1e-6)
    np.testing.assert_allclose(model.sample(4, seed=2, steps=60)[:, :30], model.sample(4, seed=2), atol=1e-6)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        model.decode(z, steps=0)
