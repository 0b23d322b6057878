"""The benchmark's FLOP counts against hand computations, its reference DCGAN, and its report."""

import numpy as np
import pytest

from gan_lessons import bench, networks, recipes
from gan_lessons.config import keras
from gan_lessons.models import GAN, LSTMGAN, VAE

layers = keras.layers


def one_layer(shape, layer):
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer(inputs))


@pytest.mark.parametrize(
    "shape, layer, expected",
    [
        ((3,), layers.Dense(4), 2 * 3 * 4),
        ((5, 5, 1), layers.Conv2D(2, 3, padding="same"), 2 * 9 * 1 * 2 * 25),  # 25 output positions
        ((3, 3, 2), layers.Conv2DTranspose(1, 4, strides=2, padding="same"), 2 * 16 * 2 * 1 * 9),  # 9 inputs
        ((6, 3), layers.LSTM(4), 6 * 2 * 4 * 4 * (3 + 4)),  # four gates, input and recurrent kernels
        ((6, 3), layers.Dense(5), 2 * 3 * 5 * 6),  # a Dense on a sequence runs at every step
    ],
)
def test_forward_flops_match_hand_counts(shape, layer, expected):
    assert bench.forward_flops(one_layer(shape, layer)) == expected


def test_gan_training_flops_count_both_steps():
    gan = GAN(networks.mlp_generator(2, 2, (8,)), networks.mlp_discriminator(2, (8,)))
    g, d = bench.forward_flops(gan.generator), bench.forward_flops(gan.discriminator)
    assert g == 2 * (2 * 8 + 8 * 2) and d == 2 * (2 * 8 + 8 * 1)
    assert bench.gan_training_flops(gan) == 4 * g + 9 * d


def test_the_reference_dcgan_has_the_keras_io_shapes():
    generator, discriminator = bench.keras_io_generator(), bench.keras_io_discriminator()
    images = keras.ops.convert_to_numpy(generator(np.zeros((2, 128), "float32")))
    assert images.shape == (2, 28, 28, 1) and images.min() >= 0 and images.max() <= 1
    assert tuple(discriminator.output.shape) == (None, 1)
    assert [layer.filters for layer in discriminator.layers if isinstance(layer, layers.Conv2D)] == [64, 128]


def test_recurrent_decoder_flops_match_a_hand_count():
    decoder = networks.RecurrentDecoder(3, steps=5, features=2, units=4, condition="both", feedback="sigmoid")
    per_step = 2 * 4 * 4 * ((2 + 3) + 4) + 2 * 4 * 2  # four gates on [x, z] and h; the output layer
    assert bench.forward_flops(decoder) == 5 * per_step + 2 * 3 * 8  # + z → initial (h, c)


def test_a_packed_discriminator_counts_once_per_pair():
    plain, packed = (LSTMGAN.from_sizes(6, 1, noise_dim=2, units=4, packing=p) for p in (1, 2))
    g = bench.forward_flops(plain.generator)
    d_plain, d_packed = bench.forward_flops(plain.discriminator), bench.forward_flops(packed.discriminator)
    assert bench.gan_training_flops(plain) == 4 * g + 9 * d_plain
    assert bench.gan_training_flops(packed) == 4 * g + 9 * d_packed / 2


def test_training_flops_of_the_encoder_decoder_models():
    encoder, decoder = networks.gaussian_encoder(2, hidden=(8,)), networks.dense_decoder(2, hidden=(8,))
    e, d = bench.forward_flops(encoder), bench.forward_flops(decoder)
    assert bench.training_flops(VAE(encoder, decoder)) == 3 * (e + d)


def test_throughput_counts_examples_per_second_of_whole_epochs():
    recipe = recipes.autoencoder(np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8))
    rates = bench.throughput({"default": recipe}, rounds=1, window_seconds=0.0)
    assert set(rates) == {"default"} and rates["default"] > 0


def test_the_report_is_markdown_tables_with_the_race():
    model = {"name": "a", "lesson": "01", "parameters": 10, "samples_per_second": 5.0, "pipeline_per_second": 900,
             "gflops_per_sample": 0.1, "share_of_peak": 0.005, "peak_memory_mb": 700, "memory_before_model_mb": 650,
             "settings": {"steps_per_execution=1": 5.0, "steps_per_execution=10": 6.0},
             "time_to_quality": {"target": "MSE ≤ 1", "reached": True, "epochs": 3, "seconds": 9.0}}
    results = {"machine": {"device": "CPU", "platform": "test", "matmul_peak_gflops": 100.0}, "models": {"a": model},
               "race": 3.5}
    text = bench.markdown(results)
    assert "| a | 01 | 10 | 5 | 900 | 0.100 | 0% | 700 |" in text
    assert "| a | 5 | 6 |" in text and "| a | MSE ≤ 1 | yes | 3 | 9 |" in text
    assert "TensorFlow and the data alone take 650 MB" in text
    assert text.rstrip().endswith("3.5")


def test_ten_steps_per_execution_train_bit_for_bit_the_same_weights():
    """Why the lessons may use it: it only changes how often Python calls into TensorFlow."""
    x = np.random.default_rng(0).integers(0, 256, (250, 28, 28), dtype=np.uint8)  # 3 batches: a ragged last call
    weights = []
    for steps in (1, 10):
        recipe = recipes.vae(x, steps_per_execution=steps)
        recipe.model.fit(recipe.train, epochs=2, verbose=0)
        weights.append([keras.ops.convert_to_numpy(w) for w in recipe.model.weights])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_time_to_quality_stops_at_the_first_epoch_that_meets_the_target():
    recipe = recipes.autoencoder(np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8))
    epochs_seen = []
    target = bench.Quality("third epoch", lambda r: {"epoch": len(epochs_seen) + 1},
                           lambda m: epochs_seen.append(m["epoch"]) or m["epoch"] >= 3)
    result = bench.time_to_quality(recipe, target, limit_seconds=600)
    assert result["reached"] and result["epochs"] == 3 and [t["epoch"] for t in result["trace"]] == [1, 2, 3]
    never = bench.Quality("never", lambda r: {}, lambda m: False)
    assert not bench.time_to_quality(recipe, never, limit_seconds=1e-9)["reached"]  # gives up after the limit
